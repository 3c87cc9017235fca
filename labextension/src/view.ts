/**
 * What the compact toolbar item shows for a state: a short chip label,
 * the one action (Start or Stop) and the texts for tooltips and screen
 * readers.  Pure, like state.ts.
 *
 * The item keeps one width in every state (no reflow, so JupyterLab's
 * toolbar never moves it or its neighbours into the "…" overflow when the
 * state changes): the chip and the action button have fixed widths in
 * base.css, sized for CHIP_LABEL_CHARS characters and for the longer of
 * "Start" and "Stop".  The full texts go to the tooltip and the popover.
 */
import { Translate } from './overrides';
import {
  ToolbarState,
  canStart,
  canStop,
  chipText,
  chipTooltip,
  elapsedSeconds,
  formatElapsed,
  isWarned,
  readyLabel
} from './state';

/** Characters the chip's fixed width holds (base.css: the chip's `ch`). */
export const CHIP_LABEL_CHARS = 15;

/** The one action button of the item. */
export interface IActionView {
  kind: 'start' | 'stop';
  enabled: boolean;
  label: string;
  tooltip: string;
}

export interface IItemView {
  /** The chip's state name, as in its class jp-StartSpark-chip-<kind>. */
  kind: string;
  /** The short label in the chip (fits CHIP_LABEL_CHARS below an hour). */
  label: string;
  /** The full state text (popover heading; tooltip's first line). */
  text: string;
  /** The chip's tooltip: the full text and the details. */
  title: string;
  /** Show the spinner. */
  busy: boolean;
  /** Amber: a job failed or executors were lost since last seen. */
  warn: boolean;
  /** Spark stopped by itself (idle): the popover offers Start again. */
  notice: string | null;
  action: IActionView;
  /** The accessible name of the button that opens the popover. */
  menuLabel: string;
}

const plain: Translate = (msg, ...args) =>
  msg.replace(/%(\d+)/g, (m, i) => {
    const v = args[Number(i) - 1];
    return v === undefined ? m : String(v);
  });

/** The chip's state name: not_started → not-started. */
export function chipKind(state: ToolbarState): string {
  return state.kind.replace('_', '-');
}

/** The short chip label: one or two words, the seconds while starting. */
export function chipLabel(
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
      return state.notice ? trans('Stopped (idle)') : trans('Not started');
    case 'starting':
      return trans('Starting… %1', formatElapsed(elapsedSeconds(state, now)));
    case 'ready':
      return readyLabel(state, now, trans) ?? trans('Ready');
    case 'failed':
      return trans('Failed');
    case 'stopping':
      return trans('Stopping…');
    case 'unavailable':
      return trans('Unavailable');
  }
  return '';
}

/** Whether the state is on its way somewhere (the chip spins). */
export function isBusy(state: ToolbarState): boolean {
  return (
    state.kind === 'starting' ||
    state.kind === 'stopping' ||
    state.kind === 'loading'
  );
}

/** Whether Spark runs or is on its way (the action is Stop). */
export function isRunning(state: ToolbarState): boolean {
  return (
    state.kind === 'starting' ||
    state.kind === 'ready' ||
    state.kind === 'stopping'
  );
}

/**
 * The item for a state.  hasKernel and hasConfig say whether Start could
 * apply at all (a kernel to start in, a configuration picked).
 */
export function itemView(
  state: ToolbarState,
  opts: { now: number; hasKernel: boolean; hasConfig: boolean },
  trans: Translate = plain
): IItemView {
  const text = chipText(state, opts.now, trans);
  const tip = chipTooltip(state, trans);
  const title = tip && tip !== text ? `${text}\n${tip}` : text;
  const label = chipLabel(state, opts.now, trans);
  const action: IActionView = isRunning(state)
    ? {
        kind: 'stop',
        enabled: canStop(state),
        label: trans('Stop'),
        tooltip: trans('Stop Spark (the kernel keeps running)')
      }
    : {
        kind: 'start',
        enabled: opts.hasKernel && opts.hasConfig && canStart(state),
        label: trans('Start'),
        tooltip: opts.hasKernel
          ? trans('Start Spark in this kernel')
          : trans('Start a kernel first')
      };
  return {
    kind: chipKind(state),
    label,
    text,
    title,
    busy: isBusy(state),
    warn: isWarned(state),
    notice: state.kind === 'not_started' ? (state.notice ?? null) : null,
    action,
    menuLabel: trans('Spark: %1. Open the Spark menu', label)
  };
}

/**
 * Where the popover goes: below the anchor, left-aligned with it, moved
 * left to stay inside the window (8 px margin), above the anchor when
 * there is no room below.
 */
export function popoverPosition(
  anchor: { left: number; top: number; bottom: number },
  size: { width: number; height: number },
  viewport: { width: number; height: number },
  gap = 4,
  margin = 8
): { left: number; top: number } {
  const maxLeft = viewport.width - size.width - margin;
  const left = Math.max(margin, Math.min(anchor.left, maxLeft));
  const below = anchor.bottom + gap;
  const above = anchor.top - gap - size.height;
  const top =
    below + size.height + margin <= viewport.height || above < margin
      ? below
      : above;
  return { left: Math.round(left), top: Math.round(top) };
}
