import { Widget } from '@lumino/widgets';

import { CellJobsTracker, CellJobsWidget } from '../cells';
import { IJob } from '../types';

const T0 = 1_700_000_000_000;
const plain = (msg: string, ...args: unknown[]) =>
  msg.replace(/%(\d+)/g, (m, i) => String(args[Number(i) - 1] ?? m));

function job(over: Partial<IJob>): IJob {
  return {
    id: 1,
    name: 'count at NativeMethodAccessorImpl.java:0',
    status: 'running',
    tasks: { total: 100, done: 37, active: 4, failed: 0, skipped: 0 },
    stages: { total: 2, done: 0, active: 1, failed: 0, skipped: 0 },
    submitted_at: T0 / 1000,
    duration: 4.2,
    ui_path: '/user/alice/sparkd/ui/k/jobs/job/?id=1',
    ...over
  };
}

function widget(): CellJobsWidget {
  const w = new CellJobsWidget(plain, j => j.ui_path ?? null);
  Widget.attach(w, document.body);
  return w;
}

describe('CellJobsWidget', () => {
  afterEach(() => {
    document.body.textContent = '';
  });

  it('while the cell runs: one bar per job, its line and a link', () => {
    const w = widget();
    w.setJobs(
      {
        jobs: [
          job({ id: 3 }),
          job({
            id: 4,
            tasks: { total: 10, done: 10 },
            status: 'succeeded',
            stages: { total: 1, done: 1 }
          })
        ],
        executing: true
      },
      T0,
      T0
    );
    const rows = w.node.querySelectorAll('.jp-StartSpark-job');
    expect(rows).toHaveLength(2);
    const bar = rows[0].querySelector('[role="progressbar"]')!;
    expect(bar.getAttribute('aria-valuenow')).toBe('37');
    expect(
      (rows[0].querySelector('.jp-StartSpark-jobFill') as HTMLElement).style
        .width
    ).toBe('37%');
    expect(rows[0].querySelector('.jp-StartSpark-jobText')!.textContent).toBe(
      'Job 3 · stage 1/2 · 37/100 tasks · 4.2 s'
    );
    expect(rows[1].querySelector('.jp-StartSpark-jobPct')!.textContent).toBe(
      '100 %'
    );
    const a = rows[0].querySelector(
      'a.jp-StartSpark-jobLink'
    ) as HTMLAnchorElement;
    expect(a.getAttribute('href')).toBe(
      '/user/alice/sparkd/ui/k/jobs/job/?id=1'
    );
    expect(a.target).toBe('_blank');
    expect(a.rel).toBe('noopener');
    expect(w.hasClass('jp-mod-collapsed')).toBe(false);
    expect(w.node.querySelector('.jp-StartSpark-jobsToggle')).toBeNull();
  });

  it('done: one summary line that expands and folds on a click', () => {
    const w = widget();
    const done = [
      job({ id: 1, status: 'succeeded', submitted_at: 1000, duration: 2 }),
      job({ id: 2, status: 'succeeded', submitted_at: 1003, duration: 9.3 })
    ];
    w.setJobs({ jobs: done, executing: false }, T0, T0);
    expect(w.hasClass('jp-mod-collapsed')).toBe(true);
    const toggle = () =>
      w.node.querySelector('.jp-StartSpark-jobsToggle') as HTMLButtonElement;
    expect(toggle().textContent).toContain('2 Spark jobs · 12.3 s');
    expect(toggle().getAttribute('aria-expanded')).toBe('false');
    expect(w.node.querySelectorAll('.jp-StartSpark-job')).toHaveLength(0);
    toggle().click();
    expect(toggle().getAttribute('aria-expanded')).toBe('true');
    expect(w.node.querySelectorAll('.jp-StartSpark-job')).toHaveLength(2);
    toggle().click();
    expect(w.node.querySelectorAll('.jp-StartSpark-job')).toHaveLength(0);
  });

  it('a failed job: highlighted, its error line stays in sight when folded', () => {
    const w = widget();
    const failed = job({
      id: 7,
      status: 'failed',
      error: {
        stage: 12,
        message: 'org.apache.spark.SparkException: boom\nat x'
      }
    });
    w.setJobs({ jobs: [failed], executing: true }, T0, T0);
    expect(w.hasClass('jp-mod-failed')).toBe(true);
    const row = w.node.querySelector('.jp-StartSpark-job')!;
    expect(row.classList.contains('jp-mod-failed')).toBe(true);
    expect(row.querySelector('.jp-StartSpark-jobPct')!.textContent).toBe(
      'failed'
    );
    expect(row.querySelector('.jp-StartSpark-jobError')!.textContent).toBe(
      'Job 7 failed: Stage 12: org.apache.spark.SparkException: boom'
    );
    w.setJobs({ jobs: [failed], executing: false }, T0, T0);
    expect(
      w.node.querySelector('.jp-StartSpark-jobsSummary')!.textContent
    ).toBe('1 Spark job · 4.2 s · 1 failed');
    expect(
      w.node.querySelector('.jp-StartSpark-jobError')!.textContent
    ).toContain('boom');
  });

  it('held a moment after the work ended: the bars at 100 %, then folded', () => {
    const w = widget();
    const done = [
      job({ id: 1, status: 'succeeded', tasks: { total: 4, done: 4 } })
    ];
    w.setJobs({ jobs: done, executing: false, hold: true }, T0, T0);
    expect(w.hasClass('jp-mod-collapsed')).toBe(false);
    expect(
      w.node
        .querySelector('[role="progressbar"]')!
        .getAttribute('aria-valuenow')
    ).toBe('100');
    w.setJobs({ jobs: done, executing: false, hold: false }, T0, T0);
    expect(w.hasClass('jp-mod-collapsed')).toBe(true);
  });

  it('no link without a ui_path', () => {
    const w = widget();
    w.setJobs({ jobs: [job({ ui_path: null })], executing: true }, T0, T0);
    expect(w.node.querySelector('a')).toBeNull();
  });
});

describe('CellJobsTracker', () => {
  // a notebook panel, its kernel and its model, as far as the tracker sees
  function setup() {
    const { Signal } = jest.requireActual('@lumino/signaling');
    const { Panel } = jest.requireActual('@lumino/widgets');
    const anyMessage = new Signal({});
    const kernelChanged = new Signal({});
    const disposed = new Signal({});
    const progressChanged = new Signal({});
    const cells = ['cell-a', 'cell-b'].map(id => {
      const cell = new Panel();
      const input = new Widget();
      input.addClass('jp-Cell-inputWrapper');
      const output = new Widget();
      output.addClass('jp-Cell-outputWrapper');
      cell.addWidget(input);
      cell.addWidget(output);
      Widget.attach(cell, document.body);
      return Object.assign(cell, { model: { type: 'code', id } });
    });
    const panel = {
      sessionContext: { kernelChanged, session: { kernel: { anyMessage } } },
      content: { widgets: cells },
      disposed
    };
    const model = {
      progressChanged,
      progress: null as unknown,
      progressAt: T0,
      client: { uiUrl: (p: string) => p }
    };
    const tracker = new CellJobsTracker(panel as never, model as never, plain);
    const send = (msgId: string, cellId: string) =>
      anyMessage.emit({
        direction: 'send',
        msg: {
          channel: 'shell',
          header: { msg_type: 'execute_request', msg_id: msgId },
          metadata: { cellId },
          parent_header: {}
        }
      });
    const idle = (msgId: string) =>
      anyMessage.emit({
        direction: 'recv',
        msg: {
          channel: 'iopub',
          header: { msg_type: 'status', msg_id: 'x' },
          parent_header: { msg_id: msgId },
          content: { execution_state: 'idle' }
        }
      });
    const progress = (jobs: IJob[] | null) => {
      model.progress = jobs && {
        kernel_id: 'k',
        version: 1,
        state: 'ready',
        jobs,
        executors: null
      };
      progressChanged.emit(undefined);
    };
    return { tracker, cells, send, idle, progress };
  }

  afterEach(() => {
    document.body.textContent = '';
  });

  it('puts each job under its cell, right under the input; a re-run clears it', () => {
    const t = setup();
    t.send('m1', 'cell-a');
    t.progress([
      job({ id: 1, cell_id: null, msg_id: 'm1' }),
      job({ id: 2, cell_id: 'cell-b', msg_id: 'mb', status: 'succeeded' })
    ]);
    const a = t.cells[0].node;
    const jobsA = a.querySelector('.jp-StartSpark-jobs')!;
    expect(jobsA).not.toBeNull();
    expect(jobsA.previousElementSibling!.classList).toContain(
      'jp-Cell-inputWrapper'
    );
    expect(jobsA.querySelectorAll('.jp-StartSpark-job')).toHaveLength(1);
    expect(jobsA.classList).not.toContain('jp-mod-collapsed');
    // cell b did not run in this page: its jobs show folded
    const jobsB = t.cells[1].node.querySelector('.jp-StartSpark-jobs')!;
    expect(jobsB.classList).toContain('jp-mod-collapsed');
    expect(t.tracker.summaryText('cell-b')).toBe(
      '1 Spark job · 4.2 s\n  Job 2 · stage 0/2 · 37/100 tasks · 4.2 s · succeeded\n'
    );
    expect(t.tracker.summaryText('cell-x')).toBeNull();
    // Spark stops, another session starts: the displays stay
    t.progress(null);
    t.progress([]);
    expect(a.querySelector('.jp-StartSpark-jobs')).not.toBeNull();
    expect(t.cells[1].node.querySelector('.jp-StartSpark-jobs')).not.toBeNull();
    expect(a.querySelector('.jp-StartSpark-job')!.classList).toContain(
      'jp-mod-unknown'
    );
    // cell a runs again: its display goes until the new run has jobs
    t.send('m2', 'cell-a');
    expect(a.querySelector('.jp-StartSpark-jobs')).toBeNull();
    t.tracker.dispose();
  });

  it('unfolded while the cell runs, folded 1.5 s after it is done', () => {
    jest.useFakeTimers();
    try {
      const t = setup();
      t.send('m1', 'cell-a');
      t.progress([
        job({ id: 1, cell_id: 'cell-a', msg_id: 'm1', status: 'succeeded' })
      ]);
      const w = () => t.cells[0].node.querySelector('.jp-StartSpark-jobs')!;
      expect(w().classList).not.toContain('jp-mod-collapsed');
      t.idle('m1');
      expect(w().classList).not.toContain('jp-mod-collapsed');
      jest.advanceTimersByTime(1600);
      expect(w().classList).toContain('jp-mod-collapsed');
      t.tracker.dispose();
    } finally {
      jest.useRealTimers();
    }
  });
});
