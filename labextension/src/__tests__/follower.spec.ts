import {
  GetFn,
  ProgressFollower,
  SessionFollower,
  abortableSleep,
  backoffDelay
} from '../follower';
import { SparkdError } from '../request';
import { IProgress, ISession, ISessionList } from '../types';

const KID = '0b6b4d2e-58a3-4d3c-9a47-3c5f3c1f2a10';

function session(
  version: number,
  state: ISession['state'] = 'ready'
): ISession {
  return { kernel_id: KID, config: 'local', state, version };
}

type Step = (path: string, signal: AbortSignal) => Promise<unknown>;

/**
 * A scripted daemon: each GET takes the next step.  After the script, GETs
 * hang until aborted (a long poll that never answers).
 */
function scripted(steps: Step[]) {
  const paths: string[] = [];
  const impl = <T>(path: string, signal: AbortSignal): Promise<T> => {
    paths.push(path);
    const step = steps.shift();
    if (step) {
      return step(path, signal) as Promise<T>;
    }
    return new Promise<T>((_, reject) => {
      const abort = () => {
        const e = new Error('aborted');
        e.name = 'AbortError';
        reject(e);
      };
      if (signal.aborted) {
        abort();
      } else {
        signal.addEventListener('abort', abort);
      }
    });
  };
  const get = jest.fn(impl) as unknown as GetFn;
  return { get, paths };
}

const ok =
  (v: unknown): Step =>
  async () =>
    v;
const fail =
  (e: unknown): Step =>
  async () => {
    throw e;
  };

/** Lets pending promise callbacks run. */
async function settle(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) {
    await Promise.resolve();
  }
}

function make(
  steps: Step[],
  extra: Partial<ConstructorParameters<typeof SessionFollower>[0]> = {}
) {
  const d = scripted(steps);
  const seen: ISession[] = [];
  const errors: Array<[unknown, number]> = [];
  const sleeps: number[] = [];
  let noSession = 0;
  let clock = 0;
  const f = new SessionFollower({
    kernelId: KID,
    get: d.get,
    onSession: s => seen.push(s),
    onNoSession: () => noSession++,
    onError: (e, n) => errors.push([e, n]),
    sleep: async ms => {
      sleeps.push(ms);
      clock += ms;
    },
    now: () => clock,
    ...extra
  });
  return {
    f,
    d,
    seen,
    errors,
    sleeps,
    noSession: () => noSession,
    tick: (ms: number) => (clock += ms)
  };
}

describe('SessionFollower', () => {
  it('asks with the version it last saw, holding each poll', async () => {
    const t = make([ok(session(3, 'starting')), ok(session(5, 'ready'))]);
    void t.f.start();
    await settle();
    expect(t.d.paths).toEqual([
      `api/sessions/${KID}`,
      `api/sessions/${KID}?wait=25&version=3`,
      `api/sessions/${KID}?wait=25&version=5`
    ]);
    expect(t.seen.map(s => s.version)).toEqual([3, 5]);
    expect(t.f.version).toBe(5);
    expect(t.errors).toEqual([]);
    t.f.stop();
  });

  it('starts from a given version and wait', async () => {
    const t = make([], { version: 12, wait: 50 });
    void t.f.start();
    await settle();
    expect(t.d.paths).toEqual([`api/sessions/${KID}?wait=50&version=12`]);
    t.f.stop();
  });

  it('encodes the kernel id into the path', async () => {
    const d = scripted([]);
    const f = new SessionFollower({
      kernelId: 'a/b',
      get: d.get,
      onSession: () => undefined,
      onNoSession: () => undefined,
      onError: () => undefined
    });
    void f.start();
    await settle();
    expect(d.paths[0]).toBe('api/sessions/a%2Fb');
    f.stop();
  });

  it('backs off exponentially on errors, capped, and resets after success', async () => {
    const down = new SparkdError(0, 'network_error', 'Failed to fetch');
    const t = make([
      fail(down),
      fail(down),
      fail(down),
      fail(down),
      fail(down),
      fail(down),
      fail(down),
      ok(session(1)),
      fail(down)
    ]);
    void t.f.start();
    await settle(200);
    expect(t.errors.map(([, n]) => n)).toEqual([1, 2, 3, 4, 5, 6, 7, 1]);
    expect(t.sleeps).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000, 1000
    ]);
    expect(t.seen.map(s => s.version)).toEqual([1]);
    t.f.stop();
  });

  it('uses the configured backoff', () => {
    expect(backoffDelay(1)).toBe(1000);
    expect(backoffDelay(3)).toBe(4000);
    expect(backoffDelay(50)).toBe(30000);
    expect(backoffDelay(0, 500, 4000)).toBe(500);
    expect(backoffDelay(5, 500, 4000)).toBe(4000);
  });

  it('without a session, waits on the list until one appears', async () => {
    const nf = new SparkdError(404, 'session_not_found', 'no session');
    const other = { ...session(4), kernel_id: 'other' };
    const lists: ISessionList[] = [
      { version: 4, sessions: [other] },
      { version: 6, sessions: [other] },
      { version: 7, sessions: [other, session(7, 'starting')] }
    ];
    const t = make([fail(nf), ok(lists[0]), ok(lists[1]), ok(lists[2])]);
    void t.f.start();
    await settle(100);
    expect(t.noSession()).toBe(1);
    expect(t.d.paths).toEqual([
      `api/sessions/${KID}`,
      'api/sessions',
      'api/sessions?wait=25&version=4',
      'api/sessions?wait=25&version=6',
      `api/sessions/${KID}?wait=25&version=7`
    ]);
    expect(t.seen.map(s => [s.version, s.state])).toEqual([[7, 'starting']]);
    expect(t.errors).toEqual([]);
    t.f.stop();
  });

  it('does not busy-poll when the server answers at once without a change', async () => {
    const same = session(2);
    const t = make([ok(same), ok(same), ok(same)]);
    void t.f.start();
    await settle(100);
    // first answer is a change (from -1); the next two are not: each waits
    // out the minimum interval before asking again
    expect(t.sleeps).toEqual([1000, 1000]);
    t.f.stop();
  });

  it('an unchanged answer after a held long poll is asked again at once', async () => {
    let clock = 0;
    const d = scripted([
      ok(session(2)),
      async () => {
        clock += 25000; // the daemon held the poll for `wait` seconds
        return session(2);
      }
    ]);
    const sleeps: number[] = [];
    const f = new SessionFollower({
      kernelId: KID,
      get: d.get,
      onSession: () => undefined,
      onNoSession: () => undefined,
      onError: () => undefined,
      sleep: async ms => {
        sleeps.push(ms);
      },
      now: () => clock
    });
    void f.start();
    await settle(100);
    expect(sleeps).toEqual([]);
    expect(d.paths.length).toBe(3);
    f.stop();
  });

  it('stop aborts the poll in flight; the loop ends; no callbacks after', async () => {
    const t = make([ok(session(1))]);
    const done = t.f.start();
    await settle();
    expect(t.f.running).toBe(true);
    expect(t.d.paths.length).toBe(2);
    t.f.stop();
    await done;
    expect(t.f.running).toBe(false);
    expect(t.seen.length).toBe(1);
    expect(t.errors).toEqual([]);
    await settle();
    expect(t.d.paths.length).toBe(2);
  });

  it('an answer that arrives after stop is dropped', async () => {
    let release: (v: ISession) => void = () => undefined;
    const t = make([
      () =>
        new Promise<ISession>(resolve => {
          release = resolve;
        })
    ]);
    const done = t.f.start();
    await settle();
    t.f.stop();
    release(session(9));
    await done;
    expect(t.seen).toEqual([]);
  });

  it('stop during a backoff ends the loop', async () => {
    const d = scripted([
      fail(new SparkdError(503, 'daemon_unreachable', 'down'))
    ]);
    const errors: number[] = [];
    const f = new SessionFollower({
      kernelId: KID,
      get: d.get,
      onSession: () => undefined,
      onNoSession: () => undefined,
      onError: (_e, n) => errors.push(n),
      backoffInitial: 60_000
    });
    const done = f.start();
    await settle();
    expect(errors).toEqual([1]);
    f.stop();
    await done; // the real abortableSleep returns at once on abort
    expect(d.paths.length).toBe(1);
  });

  it('start twice runs one loop', async () => {
    const t = make([]);
    const a = t.f.start();
    const b = t.f.start();
    expect(a).toBe(b);
    await settle();
    expect(t.d.paths.length).toBe(1);
    t.f.stop();
    await a;
  });
});

describe('abortableSleep', () => {
  it('resolves after the time', async () => {
    jest.useFakeTimers();
    const ac = new AbortController();
    let done = false;
    void abortableSleep(1000, ac.signal).then(() => (done = true));
    jest.advanceTimersByTime(999);
    await settle();
    expect(done).toBe(false);
    jest.advanceTimersByTime(1);
    await settle();
    expect(done).toBe(true);
    jest.useRealTimers();
  });
  it('resolves at once when aborted', async () => {
    const ac = new AbortController();
    const p = abortableSleep(1e9, ac.signal);
    ac.abort();
    await expect(p).resolves.toBeUndefined();
    await expect(abortableSleep(1e9, ac.signal)).resolves.toBeUndefined();
  });
});

function prog(version: number, state: IProgress['state'] = 'ready'): IProgress {
  return { kernel_id: KID, version, state, jobs: [], executors: null };
}

describe('ProgressFollower', () => {
  function makeP(steps: Step[]) {
    const d = scripted(steps);
    const seen: IProgress[] = [];
    const errors: number[] = [];
    const sleeps: number[] = [];
    let ended = 0;
    let clock = 0;
    const f = new ProgressFollower({
      kernelId: KID,
      get: d.get,
      onProgress: p => seen.push(p),
      onEnd: () => ended++,
      onError: (_, n) => errors.push(n),
      sleep: async ms => {
        sleeps.push(ms);
        clock += ms;
      },
      now: () => clock
    });
    return { f, d, seen, errors, sleeps, ended: () => ended };
  }

  it('long-polls the progress with the version it last saw', async () => {
    const t = makeP([ok(prog(2)), ok(prog(7))]);
    void t.f.start();
    await settle();
    expect(t.d.paths).toEqual([
      `api/sessions/${KID}/progress`,
      `api/sessions/${KID}/progress?wait=30&version=2`,
      `api/sessions/${KID}/progress?wait=30&version=7`
    ]);
    expect(t.seen.map(p => p.version)).toEqual([2, 7]);
    expect(t.f.version).toBe(7);
    t.f.stop();
  });

  it('an unchanged answer is not asked again within a second', async () => {
    const t = makeP([ok(prog(2)), ok(prog(2))]);
    void t.f.start();
    await settle();
    expect(t.sleeps).toEqual([1000]);
    t.f.stop();
  });

  it('ends when the session is gone (404) or not ready', async () => {
    const gone = makeP([
      fail(new SparkdError(404, 'session_not_found', 'no session'))
    ]);
    await gone.f.start();
    expect(gone.ended()).toBe(1);
    expect(gone.f.running).toBe(false);
    const stopping = makeP([ok(prog(3)), ok(prog(4, 'stopping'))]);
    await stopping.f.start();
    expect(stopping.seen.map(p => p.state)).toEqual(['ready', 'stopping']);
    expect(stopping.ended()).toBe(1);
    expect(stopping.d.paths).toHaveLength(2);
  });

  it('backs off on errors and goes on', async () => {
    const t = makeP([
      fail(new SparkdError(0, 'network_error', 'down')),
      fail(new SparkdError(502, 'daemon_unreachable', 'down')),
      ok(prog(1))
    ]);
    void t.f.start();
    await settle(60);
    expect(t.errors).toEqual([1, 2]);
    expect(t.sleeps.slice(0, 2)).toEqual([1000, 2000]);
    expect(t.seen.map(p => p.version)).toEqual([1]);
    t.f.stop();
  });

  it('stop aborts the poll in flight; no callback after it', async () => {
    const t = makeP([]);
    const done = t.f.start();
    await settle();
    t.f.stop();
    await done;
    expect(t.seen).toEqual([]);
    expect(t.ended()).toBe(0);
  });
});
