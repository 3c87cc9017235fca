import {
  INITIAL,
  IReady,
  ToolbarState,
  canStart,
  canStop,
  chipText,
  chipTooltip,
  elapsedSeconds,
  formatElapsed,
  fromSession,
  readySummary,
  reduce,
  slurmSummary,
  shorten,
  uiPathOf
} from '../state';
import { ISession } from '../types';

const KID = '0b6b4d2e-58a3-4d3c-9a47-3c5f3c1f2a10';
const T0 = 1_700_000_000_000;

function session(over: Partial<ISession>): ISession {
  return {
    kernel_id: KID,
    config: 'local',
    overrides: {},
    state: 'starting',
    version: 1,
    ...over
  };
}

const READY = session({
  state: 'ready',
  version: 7,
  master: 'local[*]',
  app_id: 'local-1700000000000',
  spark_version: '4.0.1',
  cores: 2,
  memory: '1g',
  ui_path: `/user/alice/sparkd/ui/${KID}/`,
  started_at: 1700000000.123,
  ready_at: 1700000003.456
});

function loading(): ToolbarState {
  return reduce(INITIAL, { type: 'kernel', kernelId: KID });
}

describe('kernel events', () => {
  it('starts without a kernel', () => {
    expect(INITIAL).toEqual({ kind: 'no_kernel', version: -1 });
  });
  it('a kernel means loading until the daemon answers', () => {
    expect(loading()).toEqual({ kind: 'loading', version: -1 });
  });
  it('losing the kernel means no_kernel', () => {
    const s = reduce(fromSession(READY, T0, INITIAL), {
      type: 'kernel',
      kernelId: null
    });
    expect(s).toEqual({ kind: 'no_kernel', version: -1 });
  });
  it('a kernel restart forgets the old session and takes the daemon state', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    expect(ready.kind).toBe('ready');
    const restarted = reduce(ready, { type: 'kernel', kernelId: KID });
    expect(restarted).toEqual({ kind: 'loading', version: -1 });
    // the daemon now says stopped (lower version than before is accepted)
    const after = reduce(restarted, {
      type: 'session',
      session: session({ state: 'stopped', version: 2 }),
      now: T0
    });
    expect(after).toEqual({ kind: 'not_started', version: 2 });
  });
  it('a kernel restart with no session afterwards is not started', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const s = reduce(reduce(ready, { type: 'kernel', kernelId: KID }), {
      type: 'no_session'
    });
    expect(s.kind).toBe('not_started');
  });
});

describe('daemon sessions', () => {
  it('starting carries started_at, waiting_for and the version', () => {
    const s = reduce(loading(), {
      type: 'session',
      session: session({
        version: 3,
        started_at: 1700000000.5,
        waiting_for: 'kernel busy'
      }),
      now: T0 + 99
    });
    expect(s).toEqual({
      kind: 'starting',
      version: 3,
      config: 'local',
      startedAt: 1700000000500,
      waitingFor: 'kernel busy',
      pending: false
    });
  });
  it('starting without started_at keeps the earlier start time', () => {
    const a = reduce(loading(), { type: 'start', config: 'local', now: T0 });
    const b = reduce(a, {
      type: 'session',
      session: session({ version: 4 }),
      now: T0 + 5000
    });
    expect(b.kind === 'starting' && b.startedAt).toBe(T0);
  });
  it('starting without started_at and no earlier start uses now', () => {
    const b = reduce(loading(), {
      type: 'session',
      session: session({ version: 4 }),
      now: T0 + 5000
    });
    expect(b.kind === 'starting' && b.startedAt).toBe(T0 + 5000);
  });
  it('ready has master, cores, memory, UI path and start-up time', () => {
    const s = reduce(loading(), { type: 'session', session: READY, now: T0 });
    expect(s).toMatchObject({
      kind: 'ready',
      version: 7,
      config: 'local',
      master: 'local[*]',
      cores: 2,
      memory: '1g',
      executors: null,
      uiPath: `/user/alice/sparkd/ui/${KID}/`,
      sparkVersion: '4.0.1',
      appId: 'local-1700000000000'
    });
    expect((s as IReady).startupSeconds).toBeCloseTo(3.333, 3);
    expect(uiPathOf(s)).toBe(`/user/alice/sparkd/ui/${KID}/`);
  });
  it('ready without times or ui path', () => {
    const s = fromSession(
      session({ state: 'ready', version: 2, executors: 3 }),
      T0,
      INITIAL
    );
    expect(s).toMatchObject({
      kind: 'ready',
      uiPath: null,
      startupSeconds: null,
      executors: 3,
      master: null
    });
    expect(uiPathOf(s)).toBeNull();
  });
  it('failed with a hint and a log tail', () => {
    const s = reduce(loading(), {
      type: 'session',
      session: session({
        state: 'failed',
        version: 9,
        error: {
          message: 'Could not connect to spark://nowhere:7077',
          hint: 'Check the master URL in the configuration.'
        },
        log_tail: ['line 1', 'line 2']
      }),
      now: T0
    });
    expect(s).toEqual({
      kind: 'failed',
      version: 9,
      config: 'local',
      message: 'Could not connect to spark://nowhere:7077',
      hint: 'Check the master URL in the configuration.',
      logTail: ['line 1', 'line 2']
    });
  });
  it('failed without an error object still says something', () => {
    const s = fromSession(
      session({ state: 'failed', version: 2, error: null, log_tail: null }),
      T0,
      INITIAL
    );
    expect(s).toMatchObject({
      kind: 'failed',
      message: 'Spark did not start.',
      hint: null,
      logTail: []
    });
  });
  it('stopping and stopped', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const stopping = reduce(ready, {
      type: 'session',
      session: session({ state: 'stopping', version: 8 }),
      now: T0
    });
    expect(stopping).toEqual({ kind: 'stopping', version: 8, config: 'local' });
    const stopped = reduce(stopping, {
      type: 'session',
      session: session({ state: 'stopped', version: 9 }),
      now: T0
    });
    expect(stopped).toEqual({ kind: 'not_started', version: 9 });
  });
  it('an older version is ignored', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const s = reduce(ready, {
      type: 'session',
      session: session({ state: 'starting', version: 6 }),
      now: T0
    });
    expect(s).toBe(ready);
  });
  it('the same version is accepted again', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const s = reduce(ready, { type: 'session', session: READY, now: T0 });
    expect(s).not.toBe(ready);
    expect(s).toEqual(ready);
  });
  it('sessions are ignored without a kernel', () => {
    expect(reduce(INITIAL, { type: 'session', session: READY, now: T0 })).toBe(
      INITIAL
    );
  });
  it('no session means not started', () => {
    expect(reduce(loading(), { type: 'no_session' })).toEqual({
      kind: 'not_started',
      version: -1
    });
    expect(reduce(INITIAL, { type: 'no_session' })).toBe(INITIAL);
  });
});

describe('user actions', () => {
  it('start from not started is an optimistic, pending start', () => {
    const ns = reduce(loading(), { type: 'no_session' });
    const s = reduce(ns, { type: 'start', config: 'yarn', now: T0 });
    expect(s).toEqual({
      kind: 'starting',
      version: -1,
      config: 'yarn',
      startedAt: T0,
      waitingFor: null,
      pending: true
    });
    // a stale "no session" does not undo the click
    expect(reduce(s, { type: 'no_session' })).toBe(s);
    // the daemon's answer confirms it
    const c = reduce(s, {
      type: 'session',
      session: session({ config: 'yarn', version: 1, started_at: T0 / 1000 }),
      now: T0 + 10
    });
    expect(c).toMatchObject({ kind: 'starting', pending: false });
  });
  it('start applies from failed, unavailable and loading', () => {
    const failed = reduce(loading(), { type: 'error', message: 'x' });
    const unavailable = reduce(loading(), {
      type: 'unreachable',
      message: 'down'
    });
    for (const s of [failed, unavailable, loading()]) {
      expect(canStart(s)).toBe(true);
      expect(reduce(s, { type: 'start', config: 'local', now: T0 }).kind).toBe(
        'starting'
      );
    }
  });
  it('start does not apply while running, stopping or without kernel', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const stopping = reduce(ready, { type: 'stop' });
    for (const s of [ready, stopping, INITIAL]) {
      expect(canStart(s)).toBe(false);
      expect(reduce(s, { type: 'start', config: 'local', now: T0 })).toBe(s);
    }
  });
  it('stop from ready and from a confirmed start', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    expect(canStop(ready)).toBe(true);
    expect(reduce(ready, { type: 'stop' })).toEqual({
      kind: 'stopping',
      version: 7,
      config: 'local'
    });
    const starting = reduce(loading(), {
      type: 'session',
      session: session({ version: 2 }),
      now: T0
    });
    expect(canStop(starting)).toBe(true);
    expect(reduce(starting, { type: 'stop' }).kind).toBe('stopping');
  });
  it('stop does not apply to a pending start or when not running', () => {
    const pending = reduce(reduce(loading(), { type: 'no_session' }), {
      type: 'start',
      config: 'local',
      now: T0
    });
    expect(canStop(pending)).toBe(false);
    const ns = reduce(loading(), { type: 'no_session' });
    expect(reduce(ns, { type: 'stop' })).toBe(ns);
    expect(canStop(ns)).toBe(false);
  });
  it('a refused request shows as failed with its hint', () => {
    const pending = reduce(loading(), {
      type: 'start',
      config: 'local',
      now: T0
    });
    const s = reduce(pending, {
      type: 'error',
      message: 'no connection file for that kernel',
      hint: 'Wait until the kernel is idle.'
    });
    expect(s).toEqual({
      kind: 'failed',
      version: -1,
      config: 'local',
      message: 'no connection file for that kernel',
      hint: 'Wait until the kernel is idle.',
      logTail: []
    });
    expect(reduce(INITIAL, { type: 'error', message: 'x' })).toBe(INITIAL);
  });
  it('an error without a config in state', () => {
    const s = reduce(loading(), { type: 'error', message: 'boom' });
    expect(s).toMatchObject({ kind: 'failed', config: null, hint: null });
  });
  it('unreachable daemon, then back', () => {
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const down = reduce(ready, { type: 'unreachable', message: 'no daemon' });
    expect(down).toEqual({
      kind: 'unavailable',
      version: 7,
      message: 'no daemon'
    });
    expect(reduce(INITIAL, { type: 'unreachable', message: 'x' })).toBe(
      INITIAL
    );
    const back = reduce(down, { type: 'session', session: READY, now: T0 });
    expect(back.kind).toBe('ready');
  });
});

describe('elapsed time', () => {
  it.each([
    [0, '0 s'],
    [1, '1 s'],
    [59, '59 s'],
    [59.9, '59 s'],
    [60, '1:00'],
    [65, '1:05'],
    [600, '10:00'],
    [3599, '59:59'],
    [3600, '1:00:00'],
    [3723, '1:02:03'],
    [-4, '0 s'],
    [NaN, '0 s']
  ])('formatElapsed(%p) is %p', (s, text) => {
    expect(formatElapsed(s)).toBe(text);
  });
  it('counts whole seconds from the start, never negative', () => {
    const s = reduce(loading(), { type: 'start', config: 'local', now: T0 });
    expect(elapsedSeconds(s, T0 + 12_999)).toBe(12);
    expect(elapsedSeconds(s, T0 - 5000)).toBe(0);
    expect(elapsedSeconds(INITIAL, T0)).toBe(0);
  });
});

describe('texts', () => {
  it('chip texts for every state', () => {
    const starting = reduce(loading(), {
      type: 'session',
      session: session({ version: 2, started_at: T0 / 1000 }),
      now: T0
    });
    const waiting = reduce(loading(), {
      type: 'session',
      session: session({
        version: 2,
        started_at: T0 / 1000,
        waiting_for: 'kernel busy'
      }),
      now: T0
    });
    const ready = reduce(loading(), {
      type: 'session',
      session: READY,
      now: T0
    });
    const failed = reduce(loading(), { type: 'error', message: 'bad master' });
    expect(chipText(INITIAL, T0)).toBe('No kernel');
    expect(chipText(loading(), T0)).toBe('Checking…');
    expect(chipText(reduce(loading(), { type: 'no_session' }), T0)).toBe(
      'Not started'
    );
    expect(chipText(starting, T0 + 3000)).toBe('Starting… 3 s');
    expect(chipText(waiting, T0 + 61_000)).toBe(
      'Starting… 1:01 (waiting for kernel busy)'
    );
    expect(chipText(ready, T0)).toBe('Ready: local[*] · 2 cores · 1g');
    expect(chipText(failed, T0)).toBe('Failed: bad master');
    expect(chipText(reduce(ready, { type: 'stop' }), T0)).toBe('Stopping…');
    expect(
      chipText(reduce(ready, { type: 'unreachable', message: 'x' }), T0)
    ).toBe('Spark unavailable');
  });
  it('ready without any detail is just Ready', () => {
    const s = fromSession(session({ state: 'ready', version: 1 }), T0, INITIAL);
    expect(chipText(s, T0)).toBe('Ready');
  });
  it('summaries: all cores, one core, executors', () => {
    const base = fromSession(READY, T0, INITIAL) as IReady;
    expect(readySummary({ ...base, cores: '*' })).toBe(
      'local[*] · all cores · 1g'
    );
    expect(readySummary({ ...base, cores: 1, executors: 1 })).toBe(
      'local[*] · 1 core · 1g · 1 executor'
    );
    expect(readySummary({ ...base, executors: 4, memory: null })).toBe(
      'local[*] · 2 cores · 4 executors'
    );
  });
  it('a Slurm session shows its allocation and the time left', () => {
    const s = fromSession(
      session({
        state: 'ready',
        version: 3,
        config: 'slurm',
        master: 'spark://node1:7077',
        slurm: {
          job_id: '4711',
          nodes: 2,
          cores_per_node: 4,
          memory_per_node: '8g',
          time: '1h',
          ends_at: T0 / 1000 + 3240
        }
      }),
      T0,
      INITIAL
    ) as IReady;
    expect(slurmSummary(s, T0)).toBe(
      'Slurm job 4711: 2 nodes × 4 cores, 8g each, 54 min left'
    );
    expect(slurmSummary(s, T0 + 3_240_000 - 30_000)).toBe(
      'Slurm job 4711: 2 nodes × 4 cores, 8g each, 30 s left'
    );
    expect(slurmSummary(s, T0 - 3_600_000)).toBe(
      'Slurm job 4711: 2 nodes × 4 cores, 8g each, 1 h 54 min left'
    );
    expect(slurmSummary(s)).toBe('Slurm job 4711: 2 nodes × 4 cores, 8g each');
    expect(
      slurmSummary({ ...s, slurm: { nodes: 1, cores_per_node: 1 } }, T0)
    ).toBe('Slurm: 1 node × 1 core');
    expect(chipText(s, T0)).toBe(
      'Ready: spark://node1:7077 · Slurm job 4711: 2 nodes × 4 cores, 8g each, 54 min left'
    );
    const local = fromSession(READY, T0, INITIAL) as IReady;
    expect(slurmSummary(local, T0)).toBeNull();
    expect(chipText(local, T0)).toBe('Ready: local[*] · 2 cores · 1g');
  });
  it('uses the translation function', () => {
    const trans = (m: string, ...a: unknown[]) =>
      '[' + m.replace(/%(\d)/g, (_, i) => String(a[Number(i) - 1])) + ']';
    expect(chipText(INITIAL, T0, trans)).toBe('[No kernel]');
  });
  it('long failure messages are shortened in the chip, whole in the tooltip', () => {
    const msg = 'x'.repeat(100);
    const s = reduce(loading(), { type: 'error', message: msg });
    expect(chipText(s, T0).length).toBeLessThan(70);
    expect(chipTooltip(s)).toContain(msg);
    expect(shorten('a  b\nc', 10)).toBe('a b c');
    expect(shorten('abcdef', 4)).toBe('abc…');
  });
  it('tooltips', () => {
    const ready = fromSession(READY, T0, INITIAL);
    const tip = chipTooltip(ready);
    expect(tip).toContain('configuration local');
    expect(tip).toContain('Spark 4.0.1');
    expect(tip).toContain('local-1700000000000');
    expect(tip).toContain('Started in 3.3 s');
    for (const s of [
      INITIAL,
      loading(),
      reduce(loading(), { type: 'no_session' }),
      reduce(loading(), { type: 'start', config: 'c', now: T0 }),
      reduce(ready, { type: 'stop' }),
      reduce(ready, { type: 'unreachable', message: 'gone' })
    ]) {
      expect(chipTooltip(s).length).toBeGreaterThan(0);
    }
  });
});
