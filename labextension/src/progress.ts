/**
 * Spark job progress, as the notebook shows it: which cell a job belongs
 * to, a job's percentage and line, a cell's summary line, and the
 * toolbar's activity (running jobs, percent, executors, the amber rule).
 * Pure: no DOM, no requests, time passed in.  The data comes from
 * `GET api/sessions/KERNEL/progress` (docs/api.md).
 */
import { Translate } from './overrides';
import { IJob, IJobCounts, IProgress } from './types';

const plain: Translate = (msg, ...args) =>
  msg.replace(/%(\d+)/g, (m, i) => {
    const v = args[Number(i) - 1];
    return v === undefined ? m : String(v);
  });

/** A count member as a non-negative integer (0 when absent or bad). */
function count(c: Partial<IJobCounts> | null | undefined, k: keyof IJobCounts) {
  const v = c ? c[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) && v > 0
    ? Math.floor(v)
    : 0;
}

/** Whether the job still runs. */
export function isRunning(job: IJob): boolean {
  return job.status === 'running';
}

/** The job's tasks: done of the ones it runs (skipped tasks left out). */
export function jobTasks(job: IJob): { done: number; total: number } {
  const skipped = count(job.tasks, 'skipped');
  const total = Math.max(0, count(job.tasks, 'total') - skipped);
  const done = Math.min(total, count(job.tasks, 'done'));
  return { done, total };
}

/** 0..100, whole: tasks done of total; a succeeded job is at 100. */
export function jobPercent(job: IJob): number {
  if (job.status === 'succeeded') {
    return 100;
  }
  const { done, total } = jobTasks(job);
  return total > 0 ? Math.min(100, Math.floor((100 * done) / total)) : 0;
}

/**
 * The stage a job is at, of its stages: the one running (completed + 1)
 * while it runs, the completed ones once it ended.  Skipped stages count
 * as completed.
 */
export function jobStage(job: IJob): { at: number; total: number } {
  const total = count(job.stages, 'total');
  const completed = count(job.stages, 'done') + count(job.stages, 'skipped');
  const at = isRunning(job) ? completed + 1 : completed;
  return { at: Math.max(0, Math.min(total, at)), total };
}

/**
 * The job's seconds: the daemon's duration, plus the time since the
 * answer came (receivedAt, epoch ms) while it runs.
 */
export function jobSeconds(job: IJob, now: number, receivedAt: number): number {
  let d =
    typeof job.duration === 'number' && Number.isFinite(job.duration)
      ? job.duration
      : typeof job.completed_at === 'number' &&
          typeof job.submitted_at === 'number'
        ? job.completed_at - job.submitted_at
        : 0;
  if (isRunning(job)) {
    d += Math.max(0, (now - receivedAt) / 1000);
  }
  return Math.max(0, d);
}

/** "0.4 s", "12.3 s", "1:05", "1:02:03". */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Number.isFinite(seconds) ? seconds : 0);
  if (s < 60) {
    return `${(Math.floor(s * 10 + 1e-6) / 10).toFixed(1)} s`;
  }
  const whole = Math.floor(s);
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  return h > 0
    ? `${h}:${two(m)}:${two(whole % 60)}`
    : `${m}:${two(whole % 60)}`;
}

/** "4:12", "0:05", "1:00:00": a countdown of whole seconds (rounded up). */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.ceil(Number.isFinite(seconds) ? seconds : 0));
  const two = (n: number) => String(n).padStart(2, '0');
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/** "Job 3 · stage 1/2 · 37/100 tasks · 4.2 s" */
export function jobLine(
  job: IJob,
  now: number,
  receivedAt: number,
  trans: Translate = plain
): string {
  const parts = [trans('Job %1', job.id)];
  const st = jobStage(job);
  if (st.total > 0) {
    parts.push(trans('stage %1/%2', st.at, st.total));
  }
  const t = jobTasks(job);
  parts.push(trans('%1/%2 tasks', t.done, t.total));
  parts.push(formatSeconds(jobSeconds(job, now, receivedAt)));
  return parts.join(' · ');
}

/** The first line of a failed job's error (with its stage), or null. */
export function jobError(job: IJob, trans: Translate = plain): string | null {
  if (job.status !== 'failed') {
    return null;
  }
  const msg = (job.error?.message ?? '').split('\n')[0].trim();
  const stage = job.error?.stage;
  const what = msg || trans('the job failed');
  return typeof stage === 'number' ? trans('Stage %1: %2', stage, what) : what;
}

/**
 * The wall time the jobs took together: from the first submission to the
 * last end (a running job ends now).  Falls back to the longest duration
 * when the times are missing.
 */
export function jobsSeconds(
  jobs: readonly IJob[],
  now: number,
  receivedAt: number
): number {
  let first = Infinity;
  let last = -Infinity;
  let longest = 0;
  for (const j of jobs) {
    const d = jobSeconds(j, now, receivedAt);
    longest = Math.max(longest, d);
    if (typeof j.submitted_at === 'number') {
      first = Math.min(first, j.submitted_at);
      last = Math.max(last, j.submitted_at + d);
    }
  }
  return Number.isFinite(first) && last >= first
    ? Math.max(longest, last - first)
    : longest;
}

/** "3 Spark jobs · 12.3 s", "1 Spark job · 0.4 s · 1 failed". */
export function summaryLine(
  jobs: readonly IJob[],
  now: number,
  receivedAt: number,
  trans: Translate = plain
): string {
  const n = jobs.length;
  const parts = [
    n === 1 ? trans('1 Spark job') : trans('%1 Spark jobs', n),
    formatSeconds(jobsSeconds(jobs, now, receivedAt))
  ];
  const failed = jobs.filter(j => j.status === 'failed').length;
  if (failed > 0) {
    parts.push(trans('%1 failed', failed));
  }
  return parts.join(' · ');
}

/** What the notebook knows of a cell's last run (from this page). */
export interface ICellRun {
  /** The msg_id of the cell's last execute_request. */
  msgId: string;
  /** Jobs shown under the cell before it was re-run: not shown again. */
  hidden: ReadonlySet<number>;
}

/**
 * The jobs of each cell's last run, oldest first.  A job belongs to the
 * cell whose model id is its cell_id (cells lists them), else to the cell
 * msgToCell maps its msg_id to.  When the page saw the cell run (runs), a
 * cell shows the jobs of that run only; else those of the newest msg_id
 * among its jobs (a page opened after the run).
 */
export function jobsByCell(
  jobs: readonly IJob[],
  cells: ReadonlySet<string>,
  msgToCell: ReadonlyMap<string, string>,
  runs: ReadonlyMap<string, ICellRun>
): Map<string, IJob[]> {
  const all = new Map<string, IJob[]>();
  for (const j of jobs) {
    let cell: string | undefined;
    if (j.cell_id && cells.has(j.cell_id)) {
      cell = j.cell_id;
    } else if (j.msg_id) {
      const c = msgToCell.get(j.msg_id);
      if (c !== undefined && cells.has(c)) {
        cell = c;
      }
    }
    if (cell === undefined) {
      continue;
    }
    const list = all.get(cell);
    if (list) {
      list.push(j);
    } else {
      all.set(cell, [j]);
    }
  }
  const out = new Map<string, IJob[]>();
  for (const [cell, list] of all) {
    const run = runs.get(cell);
    let keep: IJob[];
    if (run) {
      keep = list.filter(j =>
        j.msg_id ? j.msg_id === run.msgId : !run.hidden.has(j.id)
      );
    } else {
      const newest = list.reduce((a, b) => (b.id > a.id ? b : a));
      keep = list.filter(j => (j.msg_id ?? null) === (newest.msg_id ?? null));
    }
    if (keep.length > 0) {
      out.set(
        cell,
        keep.sort((a, b) => a.id - b.id)
      );
    }
  }
  return out;
}

/** A cell's display: live bars while it runs, else the summary line. */
export function cellCollapsed(
  jobs: readonly IJob[],
  executing: boolean
): boolean {
  return !executing && !jobs.some(isRunning);
}

/** The toolbar's view of a ready session's Spark work. */
export interface IActivity {
  /** Running jobs. */
  jobs: number;
  /** Tasks done of the running jobs' tasks, 0..100. */
  percent: number;
  /** Executors alive (null: not known yet). */
  executors: number | null;
  /** Executors lost so far. */
  dead: number;
  /** Jobs failed so far. */
  failed: number;
}

/** The activity in a progress answer. */
export function activityOf(p: IProgress): IActivity {
  const running = p.jobs.filter(isRunning);
  let jobs = running.length;
  let percent: number;
  const sum = p.summary;
  if (sum && typeof sum.percent === 'number') {
    jobs = Math.max(jobs, sum.running ?? 0);
    percent = Math.max(0, Math.min(100, Math.floor(sum.percent)));
  } else {
    let done = 0;
    let total = 0;
    for (const j of running) {
      const t = jobTasks(j);
      done += t.done;
      total += t.total;
    }
    percent = total > 0 ? Math.floor((100 * done) / total) : 0;
  }
  const failed = Math.max(
    sum?.failed ?? 0,
    p.jobs.filter(j => j.status === 'failed').length
  );
  return {
    jobs,
    percent,
    executors: p.executors ? p.executors.alive : null,
    dead: p.executors ? p.executors.dead : 0,
    failed
  };
}

/** Counts the user has seen (the popover acknowledges them). */
export interface ISeen {
  dead: number;
  failed: number;
}

/** Amber: executors lost or jobs failed since the user last looked. */
export function isWarning(a: IActivity | null, seen: ISeen): boolean {
  return !!a && (a.dead > seen.dead || a.failed > seen.failed);
}

/** "2 jobs · 37 %", "1 job · 100 %" (the chip's short label). */
export function activityShort(a: IActivity, trans: Translate = plain): string {
  const jobs = a.jobs === 1 ? trans('1 job') : trans('%1 jobs', a.jobs);
  return `${jobs} · ${trans('%1 %', a.percent)}`;
}

/** "Ready · 2 jobs · 37 % · 4 executors" and the warnings. */
export function activityText(
  a: IActivity,
  seen: ISeen,
  trans: Translate = plain
): string {
  const parts = [trans('Ready')];
  if (a.jobs > 0) {
    parts.push(activityShort(a, trans));
    if (a.executors !== null) {
      parts.push(
        a.executors === 1
          ? trans('1 executor')
          : trans('%1 executors', a.executors)
      );
    }
  }
  parts.push(...warnings(a, seen, trans));
  return parts.join(' · ');
}

/** "1 job failed", "2 executors lost", when new since seen. */
export function warnings(
  a: IActivity,
  seen: ISeen,
  trans: Translate = plain
): string[] {
  const out: string[] = [];
  if (a.failed > seen.failed) {
    const n = a.failed - seen.failed;
    out.push(n === 1 ? trans('1 job failed') : trans('%1 jobs failed', n));
  }
  if (a.dead > seen.dead) {
    const n = a.dead - seen.dead;
    out.push(
      n === 1 ? trans('1 executor lost') : trans('%1 executors lost', n)
    );
  }
  return out;
}

/** Seconds before the idle stop from which the chip counts down. */
export const COUNTDOWN_SECONDS = 300;

/** Seconds left before the idle stop (null: none), from epoch ms now. */
export function idleLeft(deadline: number | null, now: number): number | null {
  return deadline === null ? null : Math.max(0, deadline - now / 1000);
}
