/**
 * Follows one kernel's session with long polls, so the toolbar shows what
 * the daemon knows without busy polling:
 *
 *   GET api/sessions/KERNEL[?wait=25&version=N] while the kernel has a session
 *   GET api/sessions[?wait=25&version=N]        while it has none (404), to
 *                                               learn when one appears
 *
 * Each answer carries a version; the next poll asks for anything newer, so
 * the daemon holds it until something changes or `wait` passes.  Errors
 * back off exponentially (1 s, 2 s, 4 s … 30 s).  stop() aborts the poll in
 * flight; no callback runs after it.
 */
import { SparkdError, isAbort } from './request';
import { IProgress, ISession, ISessionList } from './types';

/** GET path (relative to the daemon) with an abort signal; parsed JSON. */
export type GetFn = <T>(path: string, signal: AbortSignal) => Promise<T>;

export interface IFollowerOptions {
  kernelId: string;
  get: GetFn;
  /** A session object arrived (new or unchanged after a timeout). */
  onSession: (s: ISession) => void;
  /** The daemon has no session for the kernel. */
  onNoSession: () => void;
  /** A poll failed; `failures` counts consecutive failures (1, 2, …). */
  onError: (err: unknown, failures: number) => void;
  /** Long-poll seconds (default 25, the daemon allows up to 60). */
  wait?: number;
  /** First retry delay and the cap, in ms (defaults 1000 and 30000). */
  backoffInitial?: number;
  backoffMax?: number;
  /** Shortest time between two polls that did not change anything, in ms
   * (default 1000): a guard against a server that does not hold polls. */
  minInterval?: number;
  /** Version to start from (default -1: answer at once). */
  version?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** Resolves after ms, or as soon as signal aborts. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/** The delay before retry number `failures` (1-based). */
export function backoffDelay(
  failures: number,
  initial = 1000,
  max = 30000
): number {
  const n = Math.max(1, failures);
  return Math.min(max, initial * 2 ** Math.min(n - 1, 30));
}

export class SessionFollower {
  constructor(private readonly _opts: IFollowerOptions) {
    this._version = _opts.version ?? -1;
  }

  /** The kernel followed. */
  get kernelId(): string {
    return this._opts.kernelId;
  }

  /** The newest session version seen (-1 before any). */
  get version(): number {
    return this._version;
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this._loop !== null && !this._abort.signal.aborted;
  }

  /** Starts following (once); the returned promise ends after stop(). */
  start(): Promise<void> {
    if (!this._loop) {
      this._loop = this._run();
    }
    return this._loop;
  }

  /** Stops following: aborts the poll in flight; no callbacks after this. */
  stop(): void {
    this._abort.abort();
  }

  private get _stopped(): boolean {
    return this._abort.signal.aborted;
  }

  private async _run(): Promise<void> {
    const o = this._opts;
    const wait = o.wait ?? 25;
    const sleep = o.sleep ?? abortableSleep;
    const now = o.now ?? Date.now;
    const minInterval = o.minInterval ?? 1000;
    const kid = encodeURIComponent(o.kernelId);
    const signal = this._abort.signal;
    let failures = 0;
    let listVersion: number | null = null;
    let perKernel = true;

    while (!this._stopped) {
      const began = now();
      let changed = true;
      try {
        if (perKernel) {
          const asked = this._version;
          // the first ask (no version yet) is answered at once
          const s = await o.get<ISession>(
            asked < 0
              ? `api/sessions/${kid}`
              : `api/sessions/${kid}?wait=${wait}&version=${asked}`,
            signal
          );
          if (this._stopped) {
            break;
          }
          changed = s.version > asked;
          this._version = Math.max(this._version, s.version);
          o.onSession(s);
        } else {
          const path: string =
            listVersion === null
              ? 'api/sessions'
              : `api/sessions?wait=${wait}&version=${listVersion}`;
          const list: ISessionList = await o.get<ISessionList>(path, signal);
          if (this._stopped) {
            break;
          }
          const s = (list.sessions ?? []).find(
            (x: ISession) => x.kernel_id === o.kernelId
          );
          changed = listVersion === null || list.version > listVersion;
          if (s) {
            perKernel = true;
            listVersion = null;
            this._version = Math.max(this._version, s.version);
            o.onSession(s);
          } else {
            listVersion = list.version;
          }
        }
        failures = 0;
      } catch (e) {
        if (this._stopped || isAbort(e)) {
          break;
        }
        if (
          perKernel &&
          e instanceof SparkdError &&
          e.status === 404 &&
          e.code === 'session_not_found'
        ) {
          failures = 0;
          perKernel = false;
          listVersion = null;
          o.onNoSession();
          continue;
        }
        failures++;
        o.onError(e, failures);
        await sleep(
          backoffDelay(failures, o.backoffInitial, o.backoffMax),
          signal
        );
        continue;
      }
      const spent = now() - began;
      if (!changed && spent < minInterval) {
        await sleep(minInterval - spent, signal);
      }
    }
  }

  private _version: number;
  private _loop: Promise<void> | null = null;
  private readonly _abort = new AbortController();
}

export interface IProgressFollowerOptions {
  kernelId: string;
  get: GetFn;
  /** A progress answer arrived (new or unchanged after a timeout). */
  onProgress: (p: IProgress) => void;
  /** The session is gone or no longer ready: the follower has stopped. */
  onEnd: () => void;
  /** A poll failed; `failures` counts consecutive failures (1, 2, …). */
  onError?: (err: unknown, failures: number) => void;
  /** Long-poll seconds (default 30, the daemon allows up to 60). */
  wait?: number;
  backoffInitial?: number;
  backoffMax?: number;
  /** Shortest time between two polls that did not change anything, in ms
   * (default 1000). */
  minInterval?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

/**
 * Follows a ready session's Spark jobs with long polls:
 *
 *   GET api/sessions/KERNEL/progress?wait=30&version=N
 *
 * the same way SessionFollower follows the session (errors back off, an
 * unchanged answer is not asked again within minInterval).  It ends by
 * itself when the daemon says the session is gone (404) or not ready;
 * stop() aborts the poll in flight and no callback runs after it.
 */
export class ProgressFollower {
  constructor(private readonly _opts: IProgressFollowerOptions) {}

  get kernelId(): string {
    return this._opts.kernelId;
  }

  /** The newest progress version seen (-1 before any). */
  get version(): number {
    return this._version;
  }

  get running(): boolean {
    return this._loop !== null && !this._abort.signal.aborted;
  }

  start(): Promise<void> {
    if (!this._loop) {
      this._loop = this._run();
    }
    return this._loop;
  }

  stop(): void {
    this._abort.abort();
  }

  private async _run(): Promise<void> {
    const o = this._opts;
    const wait = o.wait ?? 30;
    const sleep = o.sleep ?? abortableSleep;
    const now = o.now ?? Date.now;
    const minInterval = o.minInterval ?? 1000;
    const kid = encodeURIComponent(o.kernelId);
    const signal = this._abort.signal;
    let failures = 0;

    while (!signal.aborted) {
      const began = now();
      let changed = true;
      try {
        const asked = this._version;
        // the first ask (no version yet) is answered at once
        const p = await o.get<IProgress>(
          asked < 0
            ? `api/sessions/${kid}/progress`
            : `api/sessions/${kid}/progress?wait=${wait}&version=${asked}`,
          signal
        );
        if (signal.aborted) {
          break;
        }
        failures = 0;
        changed = p.version > asked;
        this._version = Math.max(this._version, p.version);
        o.onProgress(p);
        if (p.state !== 'ready') {
          this._abort.abort();
          o.onEnd();
          break;
        }
      } catch (e) {
        if (signal.aborted || isAbort(e)) {
          break;
        }
        if (e instanceof SparkdError && e.status === 404) {
          // no session (session_not_found), or a daemon without the
          // endpoint (not_found): nothing to follow
          this._abort.abort();
          o.onEnd();
          break;
        }
        failures++;
        o.onError?.(e, failures);
        await sleep(
          backoffDelay(failures, o.backoffInitial, o.backoffMax),
          signal
        );
        continue;
      }
      const spent = now() - began;
      if (!changed && spent < minInterval) {
        await sleep(minInterval - spent, signal);
      }
    }
  }

  private _version = -1;
  private _loop: Promise<void> | null = null;
  private readonly _abort = new AbortController();
}
