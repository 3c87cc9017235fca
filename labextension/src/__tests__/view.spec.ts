import { ToolbarState } from '../state';
import {
  CHIP_LABEL_CHARS,
  chipKind,
  chipLabel,
  itemView,
  popoverPosition
} from '../view';

const T0 = 1_700_000_000_000;

/** One state of every kind the toolbar has (some in two variants). */
const STATES: ToolbarState[] = [
  { kind: 'loading', version: -1 },
  { kind: 'no_kernel', version: -1 },
  { kind: 'not_started', version: 0 },
  {
    kind: 'starting',
    version: 1,
    config: 'local',
    startedAt: T0,
    waitingFor: null,
    pending: true
  },
  {
    kind: 'starting',
    version: 2,
    config: 'local',
    startedAt: T0,
    waitingFor: 'kernel busy',
    pending: false
  },
  {
    kind: 'ready',
    version: 3,
    config: 'standalone-ephemeral',
    master: 'spark://127.0.0.1:7077',
    cores: 16,
    memory: '16g',
    executors: 12,
    uiPath: 'ui/k/',
    sparkVersion: '4.0.1',
    appId: 'app-20260101000000-0000',
    startupSeconds: 12.5,
    jobsRunning: 0,
    idleStop: null,
    idleDeadline: null,
    activity: null,
    seen: { dead: 0, failed: 0 }
  },
  {
    kind: 'failed',
    version: 4,
    config: 'broken',
    message: 'x'.repeat(500),
    hint: 'Check the master URL.',
    logTail: []
  },
  { kind: 'stopping', version: 5, config: 'local' },
  { kind: 'unavailable', version: 6, message: 'connection refused' }
];

const opts = { now: T0, hasKernel: true, hasConfig: true };

describe('chipLabel', () => {
  it.each(STATES.map(s => [s.kind, s] as const))(
    '%s fits the chip’s fixed width',
    (_, s) => {
      // every second of the first hour of a start
      for (const dt of [0, 1, 9, 59, 60, 599, 3599]) {
        const label = chipLabel(s, T0 + dt * 1000);
        expect(label.length).toBeGreaterThan(0);
        expect(label.length).toBeLessThanOrEqual(CHIP_LABEL_CHARS);
      }
    }
  );

  it('counts the seconds of a start; the details stay out of the chip', () => {
    const starting = STATES[4];
    expect(chipLabel(starting, T0 + 7000)).toBe('Starting… 7 s');
    expect(chipLabel(starting, T0 + 65_000)).toBe('Starting… 1:05');
    expect(chipLabel(STATES[5], T0)).toBe('Ready');
    expect(chipLabel(STATES[6], T0)).toBe('Failed');
  });

  it('is translated', () => {
    const de = (m: string, ...a: unknown[]) =>
      m === 'Not started' ? 'Nicht gestartet' : m + a.join();
    expect(chipLabel(STATES[2], T0, de)).toBe('Nicht gestartet');
  });
});

describe('itemView', () => {
  it.each(STATES.map(s => [s.kind, s] as const))(
    '%s: the chip class, one action and the full text in the tooltip',
    (_, s) => {
      const v = itemView(s, opts);
      expect(v.kind).toBe(chipKind(s));
      expect(v.kind).not.toContain('_');
      expect(['start', 'stop']).toContain(v.action.kind);
      expect(v.title.startsWith(v.text)).toBe(true);
      expect(v.menuLabel).toContain(v.label);
    }
  );

  it('Start where Spark is not running, Stop where it is', () => {
    const kinds = STATES.map(s => [s.kind, itemView(s, opts).action.kind]);
    expect(kinds).toEqual([
      ['loading', 'start'],
      ['no_kernel', 'start'],
      ['not_started', 'start'],
      ['starting', 'stop'],
      ['starting', 'stop'],
      ['ready', 'stop'],
      ['failed', 'start'],
      ['stopping', 'stop'],
      ['unavailable', 'start']
    ]);
  });

  it('enables the action only when it applies', () => {
    const en = (s: ToolbarState, o = opts) => itemView(s, o).action.enabled;
    expect(en(STATES[2])).toBe(true);
    expect(en(STATES[2], { ...opts, hasKernel: false })).toBe(false);
    expect(en(STATES[2], { ...opts, hasConfig: false })).toBe(false);
    expect(en(STATES[1], { ...opts, hasKernel: false })).toBe(false);
    expect(en(STATES[3])).toBe(false); // pending: no Stop before the daemon
    expect(en(STATES[4])).toBe(true);
    expect(en(STATES[5])).toBe(true);
    expect(en(STATES[6])).toBe(true); // failed: try again
    expect(en(STATES[7])).toBe(false); // stopping
    expect(
      itemView(STATES[1], { ...opts, hasKernel: false }).action.tooltip
    ).toBe('Start a kernel first');
  });

  it('keeps the long texts for the tooltip', () => {
    const ready = itemView(STATES[5], opts);
    expect(ready.text).toBe(
      'Ready: spark://127.0.0.1:7077 · 16 cores · 16g · 12 executors'
    );
    expect(ready.title).toContain('Spark 4.0.1');
    expect(ready.title).toContain('app-20260101000000-0000');
    const waiting = itemView(STATES[4], { ...opts, now: T0 + 3000 });
    expect(waiting.label).toBe('Starting… 3 s');
    expect(waiting.text).toBe('Starting… 3 s (waiting for kernel busy)');
    expect(waiting.busy).toBe(true);
    const failed = itemView(STATES[6], opts);
    expect(failed.busy).toBe(false);
    expect(failed.title).toContain('x'.repeat(100));
  });
});

describe('popoverPosition', () => {
  const vp = { width: 1280, height: 800 };
  const size = { width: 340, height: 240 };
  it('goes under the anchor, left-aligned', () => {
    expect(
      popoverPosition({ left: 400, top: 60, bottom: 86 }, size, vp)
    ).toEqual({ left: 400, top: 90 });
  });
  it('stays inside the window on the right and the left', () => {
    expect(
      popoverPosition({ left: 1200, top: 60, bottom: 86 }, size, vp)
    ).toEqual({ left: 1280 - 340 - 8, top: 90 });
    expect(
      popoverPosition({ left: -20, top: 60, bottom: 86 }, size, vp)
    ).toEqual({ left: 8, top: 90 });
  });
  it('goes above when there is no room below', () => {
    expect(
      popoverPosition({ left: 10, top: 700, bottom: 726 }, size, vp)
    ).toEqual({ left: 10, top: 700 - 4 - 240 });
  });
});
