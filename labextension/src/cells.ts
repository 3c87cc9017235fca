/**
 * Spark jobs under the notebook cells that started them.
 *
 * For one notebook panel: follows the panel model's progress answers
 * (model.ts, `GET api/sessions/KERNEL/progress`) and the kernel's
 * execute_requests (msg_id → cell, when a cell runs, when it is done), and
 * keeps under each code cell with jobs a small widget: one bar per job
 * while the cell runs, then one summary line that expands on a click.
 * The widget is a child of the cell's DOM, not an output: it is never
 * saved into the notebook.  A re-run clears it.
 */
import type { Cell, CodeCell } from '@jupyterlab/cells';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import { PanelLayout, Widget } from '@lumino/widgets';

import { SparkModel } from './model';
import { Translate } from './overrides';
import {
  ICellRun,
  cellCollapsed,
  isRunning,
  jobError,
  jobLine,
  jobPercent,
  jobsByCell,
  summaryLine
} from './progress';
import { IJob } from './types';

/** The msg_id → cell entries kept (the daemon keeps 100 jobs). */
const MAX_RUNS = 1000;

/** How long the bars stay after the cell's work ended (their 100 % shows). */
const HOLD_MS = 1500;

/** What one cell's widget shows. */
interface ICellJobs {
  jobs: IJob[];
  executing: boolean;
  /** The work just ended: the bars stay a moment before folding. */
  hold?: boolean;
}

/** The widget under one cell. */
export class CellJobsWidget extends Widget {
  constructor(
    private readonly _trans: Translate,
    private readonly _link: (job: IJob) => string | null
  ) {
    super();
    this.addClass('jp-StartSpark-jobs');
    this.node.setAttribute('role', 'status');
    this.node.setAttribute('aria-label', _trans('Spark jobs'));
  }

  /** Whether the user opened the summary (a collapsed cell's jobs). */
  get expanded(): boolean {
    return this._expanded;
  }

  /** Shows jobs; now and receivedAt (epoch ms) give the running times. */
  setJobs(data: ICellJobs, now: number, receivedAt: number): void {
    this._data = data;
    this._now = now;
    this._receivedAt = receivedAt;
    this._render();
  }

  private _render(): void {
    const { jobs, executing, hold } = this._data;
    const t = this._trans;
    const collapsed = cellCollapsed(jobs, executing) && !hold;
    const focused = this.node.contains(document.activeElement)
      ? (document.activeElement as HTMLElement).className
      : null;
    this.node.textContent = '';
    this.toggleClass('jp-mod-collapsed', collapsed);
    this.toggleClass(
      'jp-mod-failed',
      jobs.some(j => j.status === 'failed')
    );
    if (collapsed) {
      const head = document.createElement('button');
      head.type = 'button';
      head.className = 'jp-StartSpark-jobsToggle';
      head.setAttribute('aria-expanded', String(this._expanded));
      head.title = this._expanded
        ? t('Hide the Spark jobs')
        : t('Show the Spark jobs');
      const caret = document.createElement('span');
      caret.className = 'jp-StartSpark-jobsCaret';
      caret.textContent = this._expanded ? '▾' : '▸';
      caret.setAttribute('aria-hidden', 'true');
      const text = document.createElement('span');
      text.className = 'jp-StartSpark-jobsSummary';
      text.textContent = summaryLine(jobs, this._now, this._receivedAt, t);
      head.append(caret, text);
      head.addEventListener('click', () => {
        this._expanded = !this._expanded;
        this._render();
      });
      this.node.appendChild(head);
      if (!this._expanded) {
        // a failure stays in sight: its error line under the summary
        for (const j of jobs) {
          const err = jobError(j, t);
          if (err) {
            this.node.appendChild(this._errorLine(j, err));
          }
        }
      }
    }
    if (!collapsed || this._expanded) {
      const list = document.createElement('div');
      list.className = 'jp-StartSpark-jobList';
      for (const j of jobs) {
        list.appendChild(this._row(j));
      }
      this.node.appendChild(list);
    }
    if (focused) {
      const again = this.node.querySelector<HTMLElement>(
        `.${focused.split(' ')[0]}`
      );
      again?.focus();
    }
  }

  private _row(j: IJob): HTMLElement {
    const t = this._trans;
    const pct = jobPercent(j);
    const row = document.createElement('div');
    row.className = `jp-StartSpark-job jp-mod-${j.status}`;
    row.dataset.jobId = String(j.id);
    if (j.name) {
      row.title = j.name;
    }
    const bar = document.createElement('div');
    bar.className = 'jp-StartSpark-jobBar';
    bar.setAttribute('role', 'progressbar');
    bar.setAttribute('aria-valuemin', '0');
    bar.setAttribute('aria-valuemax', '100');
    bar.setAttribute('aria-valuenow', String(pct));
    bar.setAttribute('aria-label', t('Job %1', j.id));
    const fill = document.createElement('div');
    fill.className = 'jp-StartSpark-jobFill';
    fill.style.width = `${j.status === 'failed' ? Math.max(pct, 100) : pct}%`;
    bar.appendChild(fill);
    const pctText = document.createElement('span');
    pctText.className = 'jp-StartSpark-jobPct';
    pctText.textContent = j.status === 'failed' ? t('failed') : t('%1 %', pct);
    const text = document.createElement('span');
    text.className = 'jp-StartSpark-jobText';
    text.textContent = jobLine(j, this._now, this._receivedAt, t);
    row.append(bar, pctText, text);
    const href = this._link(j);
    if (href) {
      const a = document.createElement('a');
      a.className = 'jp-StartSpark-jobLink';
      a.href = href;
      a.target = '_blank';
      a.rel = 'noopener';
      a.textContent = t('Spark UI');
      a.title = t('Open job %1 in the Spark UI (new tab)', j.id);
      row.appendChild(a);
    }
    const err = jobError(j, t);
    if (err) {
      row.appendChild(this._errorLine(j, err));
    }
    return row;
  }

  private _errorLine(j: IJob, err: string): HTMLElement {
    const e = document.createElement('div');
    e.className = 'jp-StartSpark-jobError';
    e.textContent = this._trans('Job %1 failed: %2', j.id, err);
    e.title = j.error?.message ?? err;
    return e;
  }

  private _data: ICellJobs = { jobs: [], executing: false };
  private _now = 0;
  private _receivedAt = 0;
  private _expanded = false;
}

/** Keeps the job widgets of one notebook panel. */
export class CellJobsTracker {
  constructor(
    private readonly _panel: NotebookPanel,
    private readonly _model: SparkModel,
    private readonly _trans: Translate
  ) {
    _model.progressChanged.connect(this._onProgress, this);
    _panel.sessionContext.kernelChanged.connect(this._onKernel, this);
    this._onKernel();
    _panel.disposed.connect(() => this.dispose());
  }

  /**
   * The text a user may keep in the notebook for a cell's jobs: the
   * summary line, then one line per job (and its error); null when the
   * cell shows none.
   */
  summaryText(cellId: string): string | null {
    const jobs = this._shown.get(cellId);
    if (!jobs || jobs.length === 0) {
      return null;
    }
    const now = Date.now();
    const t = this._trans;
    const lines = [summaryLine(jobs, now, this._receivedAt, t)];
    for (const j of jobs) {
      lines.push(`  ${jobLine(j, now, this._receivedAt, t)} · ${j.status}`);
      const err = jobError(j, t);
      if (err) {
        lines.push(`    ${err}`);
      }
    }
    return lines.join('\n') + '\n';
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._model.progressChanged.disconnect(this._onProgress, this);
    this._kernel?.anyMessage.disconnect(this._onMessage, this);
    this._kernel = null;
    this._stopTicker();
    if (this._laterTimer !== null) {
      clearTimeout(this._laterTimer);
      this._laterTimer = null;
    }
    for (const w of this._widgets.values()) {
      w.dispose();
    }
    this._widgets.clear();
  }

  private _onKernel(): void {
    this._kernel?.anyMessage.disconnect(this._onMessage, this);
    this._kernel = this._panel.sessionContext.session?.kernel ?? null;
    this._kernel?.anyMessage.connect(this._onMessage, this);
    this._executing.clear();
  }

  private _onMessage(_: unknown, args: Kernel.IAnyMessageArgs): void {
    const msg = args.msg;
    if (args.direction === 'send') {
      if (msg.header.msg_type !== 'execute_request') {
        return;
      }
      const cellId = (msg.metadata as { cellId?: unknown })?.cellId;
      if (typeof cellId !== 'string') {
        return;
      }
      const msgId = msg.header.msg_id;
      this._msgToCell.set(msgId, cellId);
      if (this._msgToCell.size > MAX_RUNS) {
        const oldest = this._msgToCell.keys().next().value;
        if (oldest !== undefined) {
          this._msgToCell.delete(oldest);
        }
      }
      // the cell runs again: its jobs so far are not shown any more
      const shown = this._shown.get(cellId) ?? [];
      this._runs.set(cellId, {
        msgId,
        hidden: new Set(shown.map(j => j.id))
      });
      this._executing.add(msgId);
      this._frozen.delete(cellId);
      this._render();
      return;
    }
    if (
      msg.channel === 'iopub' &&
      msg.header.msg_type === 'status' &&
      (msg as KernelMessage.IStatusMsg).content.execution_state === 'idle'
    ) {
      const parent = (msg.parent_header as { msg_id?: string })?.msg_id;
      if (parent && this._executing.delete(parent)) {
        this._render();
      }
    }
  }

  private _onProgress(): void {
    const p = this._model.progress;
    if (p) {
      this._jobs = p.jobs ?? [];
      this._receivedAt = this._model.progressAt;
    } else {
      // Spark stopped: the cells keep what they show (a job cut short as
      // unknown) until they run again, also under a next session's jobs
      for (const [cell, jobs] of this._shown) {
        this._frozen.set(
          cell,
          jobs.map(j => (isRunning(j) ? { ...j, status: 'unknown' } : j))
        );
      }
      this._jobs = [];
      this._executing.clear();
    }
    this._render();
  }

  /** The panel's code cells by model id. */
  private _cells(): Map<string, CodeCell> {
    const out = new Map<string, CodeCell>();
    for (const c of this._panel.content.widgets as readonly Cell[]) {
      if (c.model?.type === 'code') {
        const cell = c as CodeCell;
        out.set(cell.model.id, cell);
        // a cell's current future names its last run
        const mid = cell.outputArea?.future?.msg?.header?.msg_id;
        if (mid && !this._msgToCell.has(mid)) {
          this._msgToCell.set(mid, cell.model.id);
        }
      }
    }
    return out;
  }

  private _render(): void {
    if (this._disposed) {
      return;
    }
    const cells = this._cells();
    const groups = jobsByCell(
      this._jobs,
      new Set(cells.keys()),
      this._msgToCell,
      this._runs
    );
    for (const [id, jobs] of this._frozen) {
      if (!groups.has(id) && cells.has(id)) {
        groups.set(id, jobs);
      }
    }
    const now = Date.now();
    let running = false;
    this._shown = groups;
    for (const [id, w] of this._widgets) {
      if (!groups.has(id) || w.isDisposed || !cells.has(id)) {
        w.dispose();
        this._widgets.delete(id);
      }
    }
    for (const [id, jobs] of groups) {
      const cell = cells.get(id)!;
      const run = this._runs.get(id);
      const executing = !!run && this._executing.has(run.msgId);
      let w = this._widgets.get(id);
      if (!w) {
        w = new CellJobsWidget(this._trans, j =>
          j.ui_path ? this._model.client.uiUrl(j.ui_path) : null
        );
        if (!attach(cell, w)) {
          w.dispose();
          continue;
        }
        this._widgets.set(id, w);
      }
      // the bars stay HOLD_MS after the work ended, so their end shows
      const active = executing || jobs.some(isRunning);
      if (active) {
        this._activeAt.set(id, now);
      }
      const since = now - (this._activeAt.get(id) ?? -Infinity);
      const hold = !active && since < HOLD_MS;
      if (hold) {
        this._later(HOLD_MS - since);
      }
      w.setJobs({ jobs, executing, hold }, now, this._receivedAt);
      running = running || jobs.some(isRunning);
    }
    if (running) {
      this._startTicker();
    } else {
      this._stopTicker();
    }
  }

  /** One render after ms (the end of a hold). */
  private _later(ms: number): void {
    if (this._laterTimer === null) {
      this._laterTimer = setTimeout(() => {
        this._laterTimer = null;
        this._render();
      }, ms + 20);
    }
  }

  /** While a shown job runs, its elapsed time moves once a second. */
  private _startTicker(): void {
    if (this._ticker === null) {
      this._ticker = setInterval(() => this._render(), 1000);
    }
  }
  private _stopTicker(): void {
    if (this._ticker !== null) {
      clearInterval(this._ticker);
      this._ticker = null;
    }
  }

  private _kernel: Kernel.IKernelConnection | null = null;
  private _jobs: IJob[] = [];
  private _receivedAt = 0;
  private _msgToCell = new Map<string, string>();
  private _runs = new Map<string, ICellRun>();
  private _executing = new Set<string>();
  private _shown = new Map<string, IJob[]>();
  /** What cells showed when Spark stopped (until they run again). */
  private _frozen = new Map<string, IJob[]>();
  private _widgets = new Map<string, CellJobsWidget>();
  private _ticker: ReturnType<typeof setInterval> | null = null;
  private _laterTimer: ReturnType<typeof setTimeout> | null = null;
  private _activeAt = new Map<string, number>();
  private _disposed = false;
}

/**
 * Puts w into the cell's layout right under its input (above the
 * outputs), or at the end when the cell has no input wrapper.
 */
function attach(cell: Cell, w: Widget): boolean {
  const layout = cell.layout;
  if (!(layout instanceof PanelLayout)) {
    return false;
  }
  const widgets = layout.widgets;
  const i = widgets.findIndex(x => x.hasClass('jp-Cell-inputWrapper'));
  layout.insertWidget(i >= 0 ? i + 1 : widgets.length, w);
  return true;
}
