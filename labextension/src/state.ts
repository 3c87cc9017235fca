/**
 * The toolbar's state machine.  The daemon is the source of truth: every
 * session object it sends replaces what the toolbar shows (older versions
 * are ignored); the only states the toolbar makes up itself are the
 * moment between a click and the daemon's answer, and errors of the
 * requests.  Pure: no DOM, no requests, time passed in.
 */
import { Translate } from './overrides';
import {
  COUNTDOWN_SECONDS,
  IActivity,
  ISeen,
  activityOf,
  activityShort,
  activityText,
  formatCountdown,
  idleLeft,
  warnings
} from './progress';
import { IProgress, ISession, ISlurmInfo } from './types';

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
  /** Running jobs, as the session says (progress has more). */
  jobsRunning: number;
  /** The idle release in seconds (null: none). */
  idleStop: number | null;
  /** Epoch seconds of the idle stop (null while Spark works, or none). */
  idleDeadline: number | null;
  /** The Spark work from the progress follower (null before it answers). */
  activity: IActivity | null;
  /** Failures and lost executors the user has seen (amber beyond them). */
  seen: ISeen;
  /** Launch type slurm: the allocation; null otherwise. */
  slurm?: ISlurmInfo | null;
}

export interface INotStarted {
  kind: 'not_started';
  version: number;
  /** Why Spark stopped by itself, e.g. "Spark stopped after 30 min idle". */
  notice?: string | null;
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
  | INotStarted
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
  | { type: 'unreachable'; message: string }
  /** A progress answer for the ready session. */
  | { type: 'progress'; progress: IProgress }
  /** The user looked at the state (the popover): no more amber for it. */
  | { type: 'seen' };

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
    case 'ready': {
      const was = prev.kind === 'ready' ? prev : null;
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
            : null,
        jobsRunning:
          typeof s.jobs_running === 'number' ? Math.max(0, s.jobs_running) : 0,
        idleStop: typeof s.idle_stop === 'number' ? s.idle_stop : null,
        idleDeadline:
          typeof s.idle_deadline === 'number' ? s.idle_deadline : null,
        activity: was ? was.activity : null,
        seen: was ? was.seen : { dead: 0, failed: 0 },
        slurm: s.slurm ?? null
      };
    }
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
      return s.reason === 'idle'
        ? {
            kind: 'not_started',
            version,
            notice: s.message || 'Spark stopped after being idle'
          }
        : { kind: 'not_started', version };
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
      if (state.kind === 'not_started') {
        return state; // keeps a notice of the stop
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
    case 'progress': {
      if (
        state.kind !== 'ready' ||
        (event.progress.state && event.progress.state !== 'ready')
      ) {
        return state;
      }
      const a = activityOf(event.progress);
      const b = state.activity;
      if (
        b &&
        a.jobs === b.jobs &&
        a.percent === b.percent &&
        a.executors === b.executors &&
        a.dead === b.dead &&
        a.failed === b.failed
      ) {
        return state;
      }
      return { ...state, activity: a };
    }
    case 'seen': {
      if (state.kind !== 'ready' || !state.activity) {
        return state;
      }
      const { dead, failed } = state.activity;
      if (dead === state.seen.dead && failed === state.seen.failed) {
        return state;
      }
      return { ...state, seen: { dead, failed } };
    }
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

/** "Slurm job 12: 2 nodes × 4 cores, 8g each, 54 min left" (null
 * without an allocation; the time left only when now is given). */
export function slurmSummary(
  state: IReady,
  now: number | null = null,
  trans: Translate = plain
): string | null {
  const sl = state.slurm;
  if (!sl) {
    return null;
  }
  const nodes = typeof sl.nodes === 'number' ? sl.nodes : 1;
  const parts: string[] = [];
  const size =
    (nodes === 1 ? trans('1 node') : trans('%1 nodes', nodes)) +
    (typeof sl.cores_per_node === 'number'
      ? ' × ' +
        (sl.cores_per_node === 1
          ? trans('1 core')
          : trans('%1 cores', sl.cores_per_node))
      : '');
  parts.push(size);
  if (sl.memory_per_node) {
    parts.push(trans('%1 each', sl.memory_per_node));
  }
  if (now !== null && typeof sl.ends_at === 'number') {
    const left = Math.max(0, Math.round(sl.ends_at - now / 1000));
    parts.push(
      left >= 60
        ? trans('%1 left', formatMinutes(left))
        : trans('%1 s left', left)
    );
  }
  const head = sl.job_id ? trans('Slurm job %1', sl.job_id) : trans('Slurm');
  return `${head}: ${parts.join(', ')}`;
}

/** "54 min", "1 h 05 min" for a count of seconds (at least a minute). */
export function formatMinutes(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return m >= 60
    ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`
    : `${m} min`;
}

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
      return state.notice ? state.notice : trans('Not started');
    case 'starting': {
      const t = formatElapsed(elapsedSeconds(state, now));
      return state.waitingFor
        ? trans('Starting… %1 (waiting for %2)', t, state.waitingFor)
        : trans('Starting… %1', t);
    }
    case 'ready': {
      const a = state.activity;
      if (a && a.jobs > 0) {
        return activityText(a, state.seen, trans);
      }
      const warn = a ? warnings(a, state.seen, trans) : [];
      const left = countdown(state, now);
      if (left !== null) {
        return [
          trans('Ready · stops in %1', formatCountdown(left)),
          ...warn
        ].join(' · ');
      }
      const sum = readySummary(state, trans);
      const head = sum ? trans('Ready: %1', sum) : trans('Ready');
      const slurm = slurmSummary(state, now, trans);
      return [head, ...(slurm ? [slurm] : []), ...warn].join(' · ');
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
      return state.notice
        ? trans(
            'The kernel kept running: Spark starts again with Start, or when a cell uses spark.'
          )
        : trans('Spark is not running in this kernel.');
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
      if (state.idleStop !== null && state.idleStop > 0) {
        lines.push(
          trans(
            'Stops after %1 without Spark work',
            formatIdle(state.idleStop, trans)
          )
        );
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

/**
 * Seconds left before the idle stop when under COUNTDOWN_SECONDS and no job
 * runs (the chip counts down), else null.
 */
export function countdown(state: ToolbarState, now: number): number | null {
  if (
    state.kind !== 'ready' ||
    (state.activity?.jobs ?? state.jobsRunning) > 0
  ) {
    return null;
  }
  const left = idleLeft(state.idleDeadline, now);
  return left !== null && left <= COUNTDOWN_SECONDS ? left : null;
}

/** Whether the chip is amber: a job failed or executors were lost. */
export function isWarned(state: ToolbarState): boolean {
  return (
    state.kind === 'ready' &&
    !!state.activity &&
    (state.activity.dead > state.seen.dead ||
      state.activity.failed > state.seen.failed)
  );
}

/** The chip's short activity label of a ready state, or null. */
export function readyLabel(
  state: IReady,
  now: number,
  trans: Translate = plain
): string | null {
  const a = state.activity;
  if (a && a.jobs > 0) {
    return activityShort(a, trans);
  }
  const left = countdown(state, now);
  return left !== null ? trans('Stops in %1', formatCountdown(left)) : null;
}

/** "30 min", "2 h", "1 h 30 min", "90 s" for the idle release. */
export function formatIdle(seconds: number, trans: Translate = plain): string {
  const s = Math.round(seconds);
  if (s < 60 || s % 60 !== 0) {
    return trans('%1 s', s);
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h === 0) {
    return trans('%1 min', m);
  }
  return m === 0 ? trans('%1 h', h) : trans('%1 h %2 min', h, m);
}
