/**
 * The JSON shapes sparkd answers with (see docs/api.md).  Only what the
 * toolbar reads is typed; everything else passes through untouched.
 */

/** A value the user may override: what `overridable` specs accept. */
export type OverrideValue = string | number | boolean;

/** Overrides keyed by Spark property, e.g. {"spark.driver.memory": "2g"}. */
export type Overrides = Record<string, OverrideValue>;

/** One entry of a configuration's `overridable` mapping. */
export interface IOverridableSpec {
  type: 'int' | 'memory' | 'string' | 'choice';
  min?: number | string;
  max?: number | string;
  max_length?: number;
  choices?: OverrideValue[];
  default?: OverrideValue;
  description?: string;
}

/** `summary` of a configuration. */
export interface IConfigSummary {
  master: string | null;
  cores: number | '*' | null;
  memory: string | null;
}

/** One configuration as listed by `GET /api/configs`. */
export interface IConfigInfo {
  name: string;
  display_name: string;
  description?: string;
  source: 'system' | 'user';
  locked: boolean;
  default: boolean;
  summary?: IConfigSummary;
  overridable?: Record<string, IOverridableSpec>;
  error?: string;
}

/** `GET /api/configs`. */
export interface IConfigList {
  default: string | null;
  configs: IConfigInfo[];
}

/** A whole resolved configuration (`GET /api/configs/NAME`). */
export interface IConfigDoc {
  name: string;
  display_name?: string;
  conf?: Record<string, unknown>;
  overridable?: Record<string, IOverridableSpec>;
  [key: string]: unknown;
}

/** The daemon's session states. */
export type SessionStateName =
  'starting' | 'ready' | 'failed' | 'stopping' | 'stopped';

/** A session: Spark in one kernel (its id is the kernel's id). */
export interface ISession {
  kernel_id: string;
  config: string;
  overrides?: Overrides;
  state: SessionStateName;
  version: number;
  master?: string | null;
  app_id?: string | null;
  spark_version?: string | null;
  cores?: number | string | null;
  memory?: string | null;
  executors?: number | null;
  ui_path?: string | null;
  started_at?: number | null;
  ready_at?: number | null;
  waiting_for?: string | null;
  error?: { message: string; hint?: string | null } | null;
  log_tail?: string[] | null;
}

/** `GET /api/sessions`. */
export interface ISessionList {
  version: number;
  sessions: ISession[];
}

/** What the notebook remembers in its metadata under `start_spark`. */
export interface INotebookChoice {
  config: string;
  overrides: Overrides;
}
