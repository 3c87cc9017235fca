/**
 * The toolbar's state machine.  The daemon is the source of truth: every
 * session object it sends replaces what the toolbar shows (older versions
 * are ignored); the only states the toolbar makes up itself are the
 * moment between a click and the daemon's answer, and errors of the
 * requests.  Pure: no DOM, no requests, time passed in.
 */
import { Translate } from './overrides';
import { ISession } from './types';

export interface IStarting {
  kind: 'starting';
  version: number;
  config: string;
  /** Epoch milliseconds the start began (the daemon's `started_at`). */
  startedAt: number;
  waitingFor: string | null;
  /** True from the click until the daemon confirmed the start. */
  pending: boolean;
}

export interface IReady {
  kind: 'ready';
  version: number;
  config: string;
  master: string | null;
  cores: number | string | null;
  memory: string | null;
  executors: number | null;
  uiPath: string | null;
  sparkVersion: string | null;
  appId: string | null;
  /** Seconds from start to ready, when the daemon said both. */
  startupSeconds: number | null;
}

export interface IFailed {
  kind: 'failed';
  version: number;
  config: string | null;
  message: string;
  hint: string | null;
  logTail: string[];
}

export type ToolbarState =
  | { kind: 'loading'; version: number }
  | { kind: 'no_kernel'; version: number }
  | { kind: 'not_started'; version: number }
  | IStarting
  | IReady
  | IFailed
  | { kind: 'stopping'; version: number; config: string }
  | { kind: 'unavailable'; version: number; message: string };

export type ToolbarEvent =
  /** The panel's kernel changed or restarted (null: no kernel). */
  | { type: 'kernel'; kernelId: string | null }
  /** A session object from the daemon (reply or long poll). */
  | { type: 'session'; session: ISession; now: number }
  /** The daemon has no session for this kernel. */
  | { type: 'no_session' }
  /** The user asked to start with config. */
  | { type: 'start'; config: string; now: number }
  /** The user asked to stop. */
  | { type: 'stop' }
  /** A start or stop request was refused. */
  | { type: 'error'; message: string; hint?: string | null; config?: string }
  /** The daemon could not be reached. */
  | { type: 'unreachable'; message: string };

export const INITIAL: ToolbarState = { kind: 'no_kernel', version: -1 };

/** The state a daemon session object stands for. */
export function fromSession(
  s: ISession,
  now: number,
  prev: ToolbarState
): ToolbarState {
  const version = s.version;
  switch (s.state) {
    case 'starting':
      return {
        kind: 'starting',
        version,
        config: s.config,
        startedAt:
          typeof s.started_at === 'number'
            ? s.started_at * 1000
            : prev.kind === 'starting'
              ? prev.startedAt
              : now,
        waitingFor: s.waiting_for ?? null,
        pending: false
      };
    case 'ready':
      return {
        kind: 'ready',
        version,
        config: s.config,
        master: s.master ?? null,
        cores: s.cores ?? null,
        memory: s.memory ?? null,
        executors: typeof s.executors === 'number' ? s.executors : null,
        uiPath: s.ui_path ?? null,
        sparkVersion: s.spark_version ?? null,
        appId: s.app_id ?? null,
        startupSeconds:
          typeof s.started_at === 'number' && typeof s.ready_at === 'number'
            ? Math.max(0, s.ready_at - s.started_at)
            : null
      };
    case 'failed':
      return {
        kind: 'failed',
        version,
        config: s.config,
        message: s.error?.message || 'Spark did not start.',
        hint: s.error?.hint ?? null,
        logTail: Array.isArray(s.log_tail) ? s.log_tail : []
      };
    case 'stopping':
      return { kind: 'stopping', version, config: s.config };
    case 'stopped':
    default:
      return { kind: 'not_started', version };
  }
}

/** The next state.  Unchanged (the same object) when event does not apply. */
export function reduce(state: ToolbarState, event: ToolbarEvent): ToolbarState {
  switch (event.type) {
    case 'kernel':
      return event.kernelId === null
        ? { kind: 'no_kernel', version: -1 }
        : { kind: 'loading', version: -1 };
    case 'session':
      if (state.kind === 'no_kernel' || event.session.version < state.version) {
        return state;
      }
      return fromSession(event.session, event.now, state);
    case 'no_session':
      if (
        state.kind === 'no_kernel' ||
        (state.kind === 'starting' && state.pending)
      ) {
        return state;
      }
      return { kind: 'not_started', version: state.version };
    case 'start':
      if (!canStart(state)) {
        return state;
      }
      return {
        kind: 'starting',
        version: state.version,
        config: event.config,
        startedAt: event.now,
        waitingFor: null,
        pending: true
      };
    case 'stop':
      if (state.kind !== 'starting' && state.kind !== 'ready') {
        return state;
      }
      return { kind: 'stopping', version: state.version, config: state.config };
    case 'error':
      if (state.kind === 'no_kernel') {
        return state;
      }
      return {
        kind: 'failed',
        version: state.version,
        config: event.config ?? ('config' in state ? state.config : null),
        message: event.message,
        hint: event.hint ?? null,
        logTail: []
      };
    case 'unreachable':
      if (state.kind === 'no_kernel') {
        return state;
      }
      return {
        kind: 'unavailable',
        version: state.version,
        message: event.message
      };
  }
  return state;
}

/** Whether Start applies in state. */
export function canStart(state: ToolbarState): boolean {
  return (
    state.kind === 'not_started' ||
    state.kind === 'failed' ||
    state.kind === 'unavailable' ||
    state.kind === 'loading'
  );
}

/** Whether Stop applies in state (a start still going is cancelled). */
export function canStop(state: ToolbarState): boolean {
  return (
    (state.kind === 'starting' && !state.pending) || state.kind === 'ready'
  );
}

/** The Spark UI path of a ready session, or null. */
export function uiPathOf(state: ToolbarState): string | null {
  return state.kind === 'ready' ? state.uiPath : null;
}

/** Whole seconds since a start began (0 when not starting). */
export function elapsedSeconds(state: ToolbarState, now: number): number {
  if (state.kind !== 'starting') {
    return 0;
  }
  return Math.max(0, Math.floor((now - state.startedAt) / 1000));
}

/** "7 s", "59 s", "1:05", "12:00", "1:02:03" for a count of seconds. */
export function formatElapsed(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  if (s < 60) {
    return `${s} s`;
  }
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

const plain: Translate = (msg, ...args) =>
  msg.replace(/%(\d+)/g, (m, i) => {
    const v = args[Number(i) - 1];
    return v === undefined ? m : String(v);
  });

/** "local[*] · all cores · 1g · 2 executors" for a ready state. */
export function readySummary(state: IReady, trans: Translate = plain): string {
  const parts: string[] = [];
  if (state.master) {
    parts.push(state.master);
  }
  if (state.cores === '*') {
    parts.push(trans('all cores'));
  } else if (typeof state.cores === 'number') {
    parts.push(
      state.cores === 1 ? trans('1 core') : trans('%1 cores', state.cores)
    );
  }
  if (state.memory) {
    parts.push(state.memory);
  }
  if (state.executors !== null) {
    parts.push(
      state.executors === 1
        ? trans('1 executor')
        : trans('%1 executors', state.executors)
    );
  }
  return parts.join(' · ');
}

/** Cuts s to at most n characters, with an ellipsis. */
export function shorten(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > n ? one.slice(0, Math.max(0, n - 1)) + '…' : one;
}

/** The chip's text. */
export function chipText(
  state: ToolbarState,
  now: number,
  trans: Translate = plain
): string {
  switch (state.kind) {
    case 'loading':
      return trans('Checking…');
    case 'no_kernel':
      return trans('No kernel');
    case 'not_started':
      return trans('Not started');
    case 'starting': {
      const t = formatElapsed(elapsedSeconds(state, now));
      return state.waitingFor
        ? trans('Starting… %1 (waiting for %2)', t, state.waitingFor)
        : trans('Starting… %1', t);
    }
    case 'ready': {
      const sum = readySummary(state, trans);
      return sum ? trans('Ready: %1', sum) : trans('Ready');
    }
    case 'failed':
      return trans('Failed: %1', shorten(state.message, 60));
    case 'stopping':
      return trans('Stopping…');
    case 'unavailable':
      return trans('Spark unavailable');
  }
  return '';
}

/** The chip's tooltip (and its accessible description). */
export function chipTooltip(
  state: ToolbarState,
  trans: Translate = plain
): string {
  switch (state.kind) {
    case 'no_kernel':
      return trans('Start a kernel to use Spark.');
    case 'not_started':
      return trans('Spark is not running in this kernel.');
    case 'starting':
      return trans(
        'Spark is starting with the configuration %1.',
        state.config
      );
    case 'ready': {
      const lines = [trans('Spark is ready (configuration %1).', state.config)];
      if (state.sparkVersion) {
        lines.push(trans('Spark %1', state.sparkVersion));
      }
      if (state.appId) {
        lines.push(trans('Application %1', state.appId));
      }
      if (state.startupSeconds !== null) {
        lines.push(trans('Started in %1 s', state.startupSeconds.toFixed(1)));
      }
      return lines.join('\n');
    }
    case 'failed':
      return trans('%1 — click for details.', state.message);
    case 'stopping':
      return trans('Spark is stopping; the kernel keeps running.');
    case 'unavailable':
      return state.message;
    case 'loading':
      return trans('Asking the Start Spark service for this kernel’s state.');
  }
  return '';
}
