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
  type: 'int' | 'memory' | 'string' | 'choice' | 'duration';
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
  /** Running Spark jobs (0 when none). */
  jobs_running?: number | null;
  /** The idle release, in seconds (null: none). */
  idle_stop?: number | null;
  /** Epoch seconds Spark stops at when nothing runs (null while active). */
  idle_deadline?: number | null;
  /** Why a session ended, e.g. "idle" (state stopped). */
  reason?: string | null;
  /** A sentence about the end, e.g. "Spark stopped after 30 min idle". */
  message?: string | null;
  /** Launch type slurm: the allocation (null for other sessions). */
  slurm?: ISlurmInfo | null;
}

/** What a session of launch type slurm holds (GET /api/sessions). */
export interface ISlurmInfo {
  job_id?: string | null;
  nodes?: number | null;
  cores_per_node?: number | null;
  memory_per_node?: string | null;
  time?: string | null;
  /** Epoch seconds when the allocation's time limit is reached (ready only). */
  ends_at?: number | null;
}

/** Counts of a job's tasks or stages. */
export interface IJobCounts {
  total: number;
  done: number;
  active: number;
  failed: number;
  skipped: number;
}

/** One Spark job (`GET /api/sessions/KERNEL/progress`). */
export interface IJob {
  id: number;
  name?: string | null;
  status: 'running' | 'succeeded' | 'failed' | 'unknown' | string;
  cell_id?: string | null;
  msg_id?: string | null;
  tasks?: Partial<IJobCounts> | null;
  stages?: Partial<IJobCounts> | null;
  submitted_at?: number | null;
  completed_at?: number | null;
  duration?: number | null;
  error?: { stage?: number | null; message?: string | null } | null;
  ui_path?: string | null;
}

/** A session's executors (null until first fetched). */
export interface IExecutors {
  alive: number;
  dead: number;
  cores?: number | null;
  memory_used?: number | null;
  memory_total?: number | null;
}

/** `GET /api/sessions/KERNEL/progress`. */
export interface IProgress {
  kernel_id: string;
  version: number;
  state: SessionStateName;
  polling?: boolean;
  jobs: IJob[];
  executors: IExecutors | null;
  summary?: {
    running: number;
    failed: number;
    tasks_done: number;
    tasks_total: number;
    percent: number;
  } | null;
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
