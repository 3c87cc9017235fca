import {
  activityOf,
  cellCollapsed,
  formatCountdown,
  formatSeconds,
  isWarning,
  jobError,
  jobLine,
  jobPercent,
  jobStage,
  jobTasks,
  jobsByCell,
  summaryLine
} from '../progress';
import {
  INITIAL,
  IReady,
  ToolbarState,
  chipText,
  countdown,
  formatIdle,
  fromSession,
  isWarned,
  reduce
} from '../state';
import { chipLabel, itemView, CHIP_LABEL_CHARS } from '../view';
import { IJob, IProgress, ISession } from '../types';

const KID = '0b6b4d2e-58a3-4d3c-9a47-3c5f3c1f2a10';
const T0 = 1_700_000_000_000;

function job(over: Partial<IJob>): IJob {
  return {
    id: 1,
    name: 'count at NativeMethodAccessorImpl.java:0',
    status: 'running',
    cell_id: null,
    msg_id: null,
    tasks: { total: 100, done: 37, active: 4, failed: 0, skipped: 0 },
    stages: { total: 2, done: 0, active: 1, failed: 0, skipped: 0 },
    submitted_at: T0 / 1000,
    completed_at: null,
    duration: 4.2,
    error: null,
    ui_path: `/user/alice/sparkd/ui/${KID}/jobs/job/?id=1`,
    ...over
  };
}

function progress(over: Partial<IProgress>): IProgress {
  return {
    kernel_id: KID,
    version: 1,
    state: 'ready',
    polling: true,
    jobs: [],
    executors: null,
    summary: {
      running: 0,
      failed: 0,
      tasks_done: 0,
      tasks_total: 0,
      percent: 0
    },
    ...over
  };
}

function session(over: Partial<ISession>): ISession {
  return {
    kernel_id: KID,
    config: 'local',
    state: 'ready',
    version: 5,
    master: 'local[*]',
    cores: 2,
    memory: '1g',
    ...over
  };
}

function ready(over: Partial<ISession> = {}): ToolbarState {
  return reduce(
    { kind: 'loading', version: -1 },
    { type: 'session', session: session(over), now: T0 }
  );
}

describe('a job', () => {
  it('percent is tasks done of tasks run, skipped left out', () => {
    expect(jobPercent(job({}))).toBe(37);
    expect(
      jobPercent(
        job({
          tasks: { total: 200, done: 50, active: 0, failed: 0, skipped: 100 }
        })
      )
    ).toBe(50);
    expect(
      jobTasks(job({ tasks: { total: 200, done: 50, skipped: 100 } }))
    ).toEqual({
      done: 50,
      total: 100
    });
  });
  it('percent is 0 without tasks, 100 when succeeded, never above 100', () => {
    expect(jobPercent(job({ tasks: null }))).toBe(0);
    expect(jobPercent(job({ tasks: { total: 0, done: 0 } }))).toBe(0);
    expect(
      jobPercent(job({ status: 'succeeded', tasks: { total: 8, done: 6 } }))
    ).toBe(100);
    expect(jobPercent(job({ tasks: { total: 8, done: 12 } }))).toBe(100);
    expect(jobPercent(job({ tasks: { total: 3, done: 2 } }))).toBe(66);
  });
  it('the stage it is at while running, the completed ones after', () => {
    expect(jobStage(job({}))).toEqual({ at: 1, total: 2 });
    expect(jobStage(job({ stages: { total: 2, done: 1 } }))).toEqual({
      at: 2,
      total: 2
    });
    expect(jobStage(job({ stages: { total: 2, done: 2 } }))).toEqual({
      at: 2,
      total: 2
    });
    expect(
      jobStage(
        job({ status: 'succeeded', stages: { total: 3, done: 2, skipped: 1 } })
      )
    ).toEqual({ at: 3, total: 3 });
    expect(
      jobStage(
        job({ status: 'failed', stages: { total: 2, done: 1, failed: 1 } })
      )
    ).toEqual({
      at: 1,
      total: 2
    });
  });
  it('line: id, stage, tasks and the time, moving while it runs', () => {
    expect(jobLine(job({ id: 3 }), T0, T0)).toBe(
      'Job 3 · stage 1/2 · 37/100 tasks · 4.2 s'
    );
    expect(jobLine(job({ id: 3 }), T0 + 2000, T0)).toBe(
      'Job 3 · stage 1/2 · 37/100 tasks · 6.2 s'
    );
    // an ended job's time does not move
    expect(
      jobLine(
        job({
          id: 4,
          status: 'succeeded',
          stages: { total: 1, done: 1 },
          tasks: { total: 8, done: 8 },
          duration: 1.25
        }),
        T0 + 9000,
        T0
      )
    ).toBe('Job 4 · stage 1/1 · 8/8 tasks · 1.2 s');
    // no stages known: no stage part
    expect(
      jobLine(
        job({ id: 5, stages: null, duration: null, submitted_at: null }),
        T0,
        T0
      )
    ).toBe('Job 5 · 37/100 tasks · 0.0 s');
  });
  it('error line: the first line, with its stage, for failed jobs only', () => {
    expect(jobError(job({}))).toBeNull();
    expect(
      jobError(
        job({
          status: 'failed',
          error: {
            stage: 5,
            message: 'ZeroDivisionError: division by zero\n  at line 2'
          }
        })
      )
    ).toBe('Stage 5: ZeroDivisionError: division by zero');
    expect(jobError(job({ status: 'failed', error: null }))).toBe(
      'the job failed'
    );
    expect(
      jobError(job({ status: 'failed', error: { message: 'boom' } }))
    ).toBe('boom');
  });
});

describe('formats', () => {
  it('seconds: one decimal under a minute, then m:ss and h:mm:ss', () => {
    expect(formatSeconds(0)).toBe('0.0 s');
    expect(formatSeconds(4.25)).toBe('4.2 s');
    expect(formatSeconds(12.3)).toBe('12.3 s');
    expect(formatSeconds(59.99)).toBe('59.9 s');
    expect(formatSeconds(65)).toBe('1:05');
    expect(formatSeconds(3723)).toBe('1:02:03');
    expect(formatSeconds(-3)).toBe('0.0 s');
    expect(formatSeconds(NaN)).toBe('0.0 s');
  });
  it('countdown: m:ss, rounded up, never negative', () => {
    expect(formatCountdown(252)).toBe('4:12');
    expect(formatCountdown(251.2)).toBe('4:12');
    expect(formatCountdown(300)).toBe('5:00');
    expect(formatCountdown(5)).toBe('0:05');
    expect(formatCountdown(0)).toBe('0:00');
    expect(formatCountdown(-10)).toBe('0:00');
    expect(formatCountdown(3600)).toBe('1:00:00');
  });
  it('idle release: min, h, s', () => {
    expect(formatIdle(1800)).toBe('30 min');
    expect(formatIdle(7200)).toBe('2 h');
    expect(formatIdle(5400)).toBe('1 h 30 min');
    expect(formatIdle(90)).toBe('90 s');
    expect(formatIdle(5)).toBe('5 s');
  });
});

describe('summary line', () => {
  it('counts jobs, the wall time from the first start to the last end', () => {
    const jobs = [
      job({ id: 1, status: 'succeeded', submitted_at: 1000, duration: 2 }),
      job({ id: 2, status: 'succeeded', submitted_at: 1003, duration: 9.3 })
    ];
    expect(summaryLine(jobs, T0, T0)).toBe('2 Spark jobs · 12.3 s');
  });
  it('one job, failures', () => {
    expect(
      summaryLine([job({ status: 'succeeded', duration: 0.4 })], T0, T0)
    ).toBe('1 Spark job · 0.4 s');
    const jobs = [
      job({ id: 1, status: 'succeeded', submitted_at: 1000, duration: 1 }),
      job({ id: 2, status: 'failed', submitted_at: 1001, duration: 1 }),
      job({ id: 3, status: 'succeeded', submitted_at: 1002, duration: 1 })
    ];
    expect(summaryLine(jobs, T0, T0)).toBe('3 Spark jobs · 3.0 s · 1 failed');
  });
  it('without submission times: the longest job', () => {
    const jobs = [
      job({ id: 1, status: 'succeeded', submitted_at: null, duration: 2 }),
      job({ id: 2, status: 'succeeded', submitted_at: null, duration: 5 })
    ];
    expect(summaryLine(jobs, T0, T0)).toBe('2 Spark jobs · 5.0 s');
  });
  it('collapses when the cell is done and nothing runs', () => {
    const run = [job({ status: 'running' })];
    const done = [job({ status: 'succeeded' })];
    expect(cellCollapsed(run, false)).toBe(false);
    expect(cellCollapsed(done, true)).toBe(false);
    expect(cellCollapsed(done, false)).toBe(true);
    expect(cellCollapsed([job({ status: 'failed' })], false)).toBe(true);
  });
});

describe('jobs → cells', () => {
  const cells = new Set(['cell-a', 'cell-b']);
  it('by cell_id first, else by msg_id; unknown cells get nothing', () => {
    const jobs = [
      job({ id: 4, cell_id: 'cell-b', msg_id: 'm2' }),
      job({ id: 3, cell_id: null, msg_id: 'm1' }),
      job({ id: 2, cell_id: 'cell-a', msg_id: 'm1' }),
      job({ id: 1, cell_id: 'gone', msg_id: 'm0' }),
      job({ id: 0, cell_id: null, msg_id: null })
    ];
    const msgToCell = new Map([
      ['m1', 'cell-a'],
      ['m2', 'cell-a'], // cell_id wins over msg_id
      ['m0', 'deleted']
    ]);
    const got = jobsByCell(jobs, cells, msgToCell, new Map());
    expect([...got.keys()].sort()).toEqual(['cell-a', 'cell-b']);
    expect(got.get('cell-a')!.map(j => j.id)).toEqual([2, 3]); // oldest first
    expect(got.get('cell-b')!.map(j => j.id)).toEqual([4]);
  });
  it('a cell run in this page shows the jobs of its last run only', () => {
    const jobs = [
      job({ id: 3, cell_id: 'cell-a', msg_id: 'run2' }),
      job({ id: 2, cell_id: 'cell-a', msg_id: 'run1' }),
      job({ id: 1, cell_id: 'cell-a', msg_id: 'run1' })
    ];
    const runs = new Map([
      ['cell-a', { msgId: 'run2', hidden: new Set([1, 2]) }]
    ]);
    expect(
      jobsByCell(jobs, cells, new Map(), runs)
        .get('cell-a')!
        .map(j => j.id)
    ).toEqual([3]);
    // re-run, no job yet: nothing (the display is cleared)
    const rerun = new Map([
      ['cell-a', { msgId: 'run3', hidden: new Set([3]) }]
    ]);
    expect(jobsByCell(jobs, cells, new Map(), rerun).has('cell-a')).toBe(false);
  });
  it('jobs without a msg_id: those shown before the re-run are hidden', () => {
    const jobs = [
      job({ id: 2, cell_id: 'cell-a', msg_id: null }),
      job({ id: 1, cell_id: 'cell-a', msg_id: null })
    ];
    const runs = new Map([['cell-a', { msgId: 'run2', hidden: new Set([1]) }]]);
    expect(
      jobsByCell(jobs, cells, new Map(), runs)
        .get('cell-a')!
        .map(j => j.id)
    ).toEqual([2]);
  });
  it('a page opened after the run: the newest run among the cell’s jobs', () => {
    const jobs = [
      job({ id: 5, cell_id: 'cell-a', msg_id: 'new' }),
      job({ id: 4, cell_id: 'cell-a', msg_id: 'new' }),
      job({ id: 2, cell_id: 'cell-a', msg_id: 'old' })
    ];
    expect(
      jobsByCell(jobs, cells, new Map(), new Map())
        .get('cell-a')!
        .map(j => j.id)
    ).toEqual([4, 5]);
  });
});

describe('toolbar activity', () => {
  it('from the summary: running jobs, percent, executors, dead, failed', () => {
    const p = progress({
      jobs: [job({ id: 2 }), job({ id: 1, status: 'failed' })],
      executors: {
        alive: 4,
        dead: 1,
        cores: 8,
        memory_used: 1,
        memory_total: 2
      },
      summary: {
        running: 2,
        failed: 1,
        tasks_done: 37,
        tasks_total: 100,
        percent: 37
      }
    });
    expect(activityOf(p)).toEqual({
      jobs: 2,
      percent: 37,
      executors: 4,
      dead: 1,
      failed: 1
    });
  });
  it('without a summary: computed from the running jobs', () => {
    const p = progress({
      jobs: [
        job({ id: 2, tasks: { total: 10, done: 5 } }),
        job({ id: 1, tasks: { total: 30, done: 5 } }),
        job({ id: 0, status: 'succeeded', tasks: { total: 50, done: 50 } })
      ],
      summary: null
    });
    expect(activityOf(p)).toEqual({
      jobs: 2,
      percent: 25,
      executors: null,
      dead: 0,
      failed: 0
    });
  });
  it('amber when executors were lost or jobs failed since seen', () => {
    const a = { jobs: 0, percent: 0, executors: 2, dead: 0, failed: 0 };
    expect(isWarning(null, { dead: 0, failed: 0 })).toBe(false);
    expect(isWarning(a, { dead: 0, failed: 0 })).toBe(false);
    expect(isWarning({ ...a, dead: 1 }, { dead: 0, failed: 0 })).toBe(true);
    expect(isWarning({ ...a, failed: 1 }, { dead: 0, failed: 0 })).toBe(true);
    expect(
      isWarning({ ...a, failed: 1, dead: 2 }, { dead: 2, failed: 1 })
    ).toBe(false);
  });
});

describe('chip in each state', () => {
  const t = T0;
  const progressed = (s: ToolbarState, p: Partial<IProgress>) =>
    reduce(s, { type: 'progress', progress: progress(p) });

  it('ready and idle: the configuration summary, label Ready', () => {
    const s = ready();
    expect(chipText(s, t)).toBe('Ready: local[*] · 2 cores · 1g');
    expect(chipLabel(s, t)).toBe('Ready');
    expect(itemView(s, { now: t, hasKernel: true, hasConfig: true }).warn).toBe(
      false
    );
  });
  it('jobs running: jobs, percent, executors', () => {
    const s = progressed(ready(), {
      jobs: [job({ id: 2 }), job({ id: 1 })],
      executors: { alive: 4, dead: 0 },
      summary: {
        running: 2,
        failed: 0,
        tasks_done: 37,
        tasks_total: 100,
        percent: 37
      }
    });
    expect(chipText(s, t)).toBe('Ready · 2 jobs · 37 % · 4 executors');
    expect(chipLabel(s, t)).toBe('2 jobs · 37 %');
    const one = progressed(ready(), {
      jobs: [job({})],
      executors: { alive: 1, dead: 0 },
      summary: {
        running: 1,
        failed: 0,
        tasks_done: 5,
        tasks_total: 10,
        percent: 50
      }
    });
    expect(chipText(one, t)).toBe('Ready · 1 job · 50 % · 1 executor');
    expect(chipLabel(one, t)).toBe('1 job · 50 %');
  });
  it('executors not known yet: no executors part', () => {
    const s = progressed(ready(), {
      jobs: [job({})],
      executors: null,
      summary: {
        running: 1,
        failed: 0,
        tasks_done: 0,
        tasks_total: 8,
        percent: 0
      }
    });
    expect(chipText(s, t)).toBe('Ready · 1 job · 0 %');
  });
  it('labels fit the chip (up to 99 jobs at 100 %)', () => {
    const s = progressed(ready(), {
      jobs: [job({})],
      summary: {
        running: 99,
        failed: 0,
        tasks_done: 1,
        tasks_total: 1,
        percent: 100
      }
    });
    expect(chipLabel(s, t).length).toBeLessThanOrEqual(CHIP_LABEL_CHARS);
    const c = ready({ idle_deadline: t / 1000 + 299 });
    expect(chipLabel(c, t).length).toBeLessThanOrEqual(CHIP_LABEL_CHARS);
    const n = fromSession(
      session({
        state: 'stopped',
        reason: 'idle',
        message: 'Spark stopped after 30 min idle'
      }),
      t,
      INITIAL
    );
    expect(chipLabel(n, t).length).toBeLessThanOrEqual(CHIP_LABEL_CHARS);
  });
  it('amber after a failed job, until seen; the text says what', () => {
    let s = progressed(ready(), {
      jobs: [job({ status: 'failed' })],
      summary: {
        running: 0,
        failed: 1,
        tasks_done: 0,
        tasks_total: 0,
        percent: 0
      }
    });
    expect(isWarned(s)).toBe(true);
    expect(itemView(s, { now: t, hasKernel: true, hasConfig: true }).warn).toBe(
      true
    );
    expect(chipText(s, t)).toBe(
      'Ready: local[*] · 2 cores · 1g · 1 job failed'
    );
    expect(chipLabel(s, t)).toBe('Ready');
    s = reduce(s, { type: 'seen' });
    expect(isWarned(s)).toBe(false);
    expect(chipText(s, t)).toBe('Ready: local[*] · 2 cores · 1g');
    // a second failure: amber again
    s = progressed(s, {
      version: 2,
      jobs: [job({ id: 2, status: 'failed' }), job({ status: 'failed' })],
      summary: {
        running: 0,
        failed: 2,
        tasks_done: 0,
        tasks_total: 0,
        percent: 0
      }
    });
    expect(isWarned(s)).toBe(true);
  });
  it('amber when executors were lost, shown beside the activity', () => {
    const s = progressed(ready(), {
      jobs: [job({})],
      executors: { alive: 3, dead: 1 },
      summary: {
        running: 1,
        failed: 0,
        tasks_done: 37,
        tasks_total: 100,
        percent: 37
      }
    });
    expect(isWarned(s)).toBe(true);
    expect(chipText(s, t)).toBe(
      'Ready · 1 job · 37 % · 3 executors · 1 executor lost'
    );
  });
  it('the activity and what was seen survive new session versions', () => {
    let s = progressed(ready(), {
      jobs: [job({ status: 'failed' })],
      summary: {
        running: 0,
        failed: 1,
        tasks_done: 0,
        tasks_total: 0,
        percent: 0
      }
    });
    s = reduce(s, { type: 'seen' });
    s = reduce(s, {
      type: 'session',
      session: session({ version: 6, jobs_running: 0 }),
      now: t
    });
    expect((s as IReady).activity).toMatchObject({ failed: 1 });
    expect(isWarned(s)).toBe(false);
    // a new start (through not started) forgets them
    s = reduce(s, {
      type: 'session',
      session: session({ version: 7, state: 'stopped' }),
      now: t
    });
    s = reduce(s, {
      type: 'session',
      session: session({ version: 8 }),
      now: t
    });
    expect((s as IReady).activity).toBeNull();
  });
  it('progress of a session that is not ready, or in another state, is ignored', () => {
    const r = ready();
    const p = {
      type: 'progress' as const,
      progress: progress({ state: 'stopping', jobs: [job({})] })
    };
    expect(reduce(r, p)).toBe(r);
    const ns: ToolbarState = { kind: 'not_started', version: 1 };
    expect(
      reduce(ns, { type: 'progress', progress: progress({ jobs: [job({})] }) })
    ).toBe(ns);
  });
  it('counts down under 5 minutes before the idle stop, not before', () => {
    const s = ready({ idle_stop: 1800, idle_deadline: t / 1000 + 252 });
    expect(countdown(s, t)).toBeCloseTo(252);
    expect(chipText(s, t)).toBe('Ready · stops in 4:12');
    expect(chipLabel(s, t)).toBe('Stops in 4:12');
    expect(chipLabel(s, t + 1000)).toBe('Stops in 4:11');
    const far = ready({ idle_stop: 1800, idle_deadline: t / 1000 + 301 });
    expect(countdown(far, t)).toBeNull();
    expect(chipLabel(far, t)).toBe('Ready');
    expect(chipLabel(far, t + 2000)).toBe('Stops in 4:59');
    // no deadline while Spark works
    const busy = ready({
      idle_stop: 1800,
      idle_deadline: null,
      jobs_running: 1
    });
    expect(countdown(busy, t)).toBeNull();
    const off = ready({ idle_stop: null, idle_deadline: null });
    expect(countdown(off, t)).toBeNull();
  });
  it('a job running hides the countdown', () => {
    const s = progressed(ready({ idle_deadline: t / 1000 + 100 }), {
      jobs: [job({})],
      summary: {
        running: 1,
        failed: 0,
        tasks_done: 1,
        tasks_total: 2,
        percent: 50
      }
    });
    expect(countdown(s, t)).toBeNull();
    expect(chipLabel(s, t)).toBe('1 job · 50 %');
  });
  it('the ready tooltip names the idle release', () => {
    const s = ready({ idle_stop: 1800 });
    const v = itemView(s, { now: t, hasKernel: true, hasConfig: true });
    expect(v.title).toContain('Stops after 30 min without Spark work');
  });
  it('stopped for idleness: the notice, kept when the session is gone, Start applies', () => {
    let s = reduce(ready({ idle_stop: 1800 }), {
      type: 'session',
      session: session({
        version: 9,
        state: 'stopped',
        reason: 'idle',
        message: 'Spark stopped after 30 min idle'
      }),
      now: t
    });
    expect(s).toMatchObject({
      kind: 'not_started',
      notice: 'Spark stopped after 30 min idle'
    });
    expect(chipText(s, t)).toBe('Spark stopped after 30 min idle');
    expect(chipLabel(s, t)).toBe('Stopped (idle)');
    const v = itemView(s, { now: t, hasKernel: true, hasConfig: true });
    expect(v.kind).toBe('not-started');
    expect(v.notice).toBe('Spark stopped after 30 min idle');
    expect(v.action).toMatchObject({ kind: 'start', enabled: true });
    s = reduce(s, { type: 'no_session' });
    expect(chipText(s, t)).toBe('Spark stopped after 30 min idle');
    // the next start ends the notice
    s = reduce(s, { type: 'start', config: 'local', now: t });
    expect(s.kind).toBe('starting');
  });
  it('a stop asked for, or another reason: no notice', () => {
    const s = reduce(ready(), {
      type: 'session',
      session: session({ version: 9, state: 'stopped', reason: 'deleted' }),
      now: t
    });
    expect(chipText(s, t)).toBe('Not started');
    expect(
      itemView(s, { now: t, hasKernel: true, hasConfig: true }).notice
    ).toBeNull();
  });
});
