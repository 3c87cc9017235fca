/**
 * Override values: turning the dialog's text inputs into typed values and
 * checking them against a configuration's `overridable` spec, with the
 * same rules as the daemon (which checks again and has the last word).
 * Pure: no DOM, no requests.
 */
import { IOverridableSpec, OverrideValue, Overrides } from './types';

/** A translation function, `trans.__` in the extension. */
export type Translate = (msg: string, ...args: unknown[]) => string;

const identity: Translate = (msg, ...args) =>
  msg.replace(/%(\d+)/g, (m, i) => {
    const v = args[Number(i) - 1];
    return v === undefined ? m : String(v);
  });

const UNITS: Record<string, number> = {
  '': 2 ** 20,
  b: 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50
};

/**
 * Bytes in a JVM memory size: digits then k|m|g|t|p (optionally followed by
 * b), or b alone; no suffix means MiB; case-insensitive.  null when s is
 * not one.
 */
export function parseMemory(s: string): number | null {
  const m = /^([0-9]{1,15})([bkmgtp]?)(b?)$/i.exec(s);
  if (!m) {
    return null;
  }
  const unit = m[2].toLowerCase();
  if (m[3] && unit === 'b') {
    return null;
  }
  return Number(m[1]) * UNITS[unit];
}

/** The longest duration the daemon accepts: 168h (a week). */
const DURATION_MAX = 7 * 24 * 3600;

/**
 * Seconds in a duration as the daemon reads `idle_stop`: one to three
 * NUMBER UNIT parts, units h, m, s each at most once and in that order
 * ("90s", "30m", "1h30m"); "off" or "0" for never (0).  null when s is not
 * one, or is longer than 168h.
 */
export function parseDuration(s: string): number | null {
  if (s === 'off' || s === '0') {
    return 0;
  }
  if (s.length === 0 || s.length > 32) {
    return null;
  }
  const m = /^(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/.exec(s);
  if (!m || (!m[1] && !m[2] && !m[3])) {
    return null;
  }
  const n = (x: string | undefined) => (x ? Number(x) : 0);
  const total = n(m[1]) * 3600 + n(m[2]) * 60 + n(m[3]);
  return total > DURATION_MAX ? null : total;
}

/** The value to put in the dialog's input for v. */
export function toInputText(v: OverrideValue | undefined): string {
  return v === undefined ? '' : String(v);
}

/**
 * Converts the text of an input into the typed value for spec: an integer
 * for `int`, the choice itself (string, number or boolean) for `choice`, a
 * string otherwise.  Returns {value} or {error}.
 */
export function parseInput(
  spec: IOverridableSpec,
  text: string,
  trans: Translate = identity
): { value: OverrideValue } | { error: string } {
  const t = text.trim();
  switch (spec.type) {
    case 'int':
      if (!/^-?[0-9]{1,15}$/.test(t)) {
        return { error: trans('must be a whole number') };
      }
      return { value: Number(t) };
    case 'choice': {
      const c = (spec.choices ?? []).find(x => String(x) === text);
      return c === undefined
        ? { error: trans('%1 is not one of the choices', text) }
        : { value: c };
    }
    case 'memory':
    case 'duration':
      return { value: t };
    default:
      return { value: text };
  }
}

/** Why v is refused by spec, or null when it is within bounds. */
export function checkValue(
  spec: IOverridableSpec,
  v: OverrideValue,
  trans: Translate = identity
): string | null {
  switch (spec.type) {
    case 'int': {
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        return trans('must be a whole number');
      }
      if (typeof spec.min === 'number' && v < spec.min) {
        return trans('%1 is below the minimum %2', v, spec.min);
      }
      if (typeof spec.max === 'number' && v > spec.max) {
        return trans('%1 is above the maximum %2', v, spec.max);
      }
      return null;
    }
    case 'memory': {
      const b = typeof v === 'string' ? parseMemory(v) : null;
      if (b === null) {
        return trans('%1 is not a memory size such as 512m or 2g', v);
      }
      const lo = typeof spec.min === 'string' ? parseMemory(spec.min) : null;
      const hi = typeof spec.max === 'string' ? parseMemory(spec.max) : null;
      if (lo !== null && b < lo) {
        return trans('%1 is below the minimum %2', v, spec.min);
      }
      if (hi !== null && b > hi) {
        return trans('%1 is above the maximum %2', v, spec.max);
      }
      return null;
    }
    case 'string': {
      if (typeof v !== 'string') {
        return trans('must be text');
      }
      const max = spec.max_length ?? 256;
      if (new TextEncoder().encode(v).length > max) {
        return trans('is longer than %1 bytes', max);
      }
      return null;
    }
    case 'choice':
      return (spec.choices ?? []).some(c => c === v)
        ? null
        : trans('%1 is not one of the choices', v);
    case 'duration': {
      const secs = typeof v === 'string' ? parseDuration(v) : null;
      if (secs === null) {
        return trans('%1 is not a duration such as 90s, 30m, 2h or 1h30m', v);
      }
      const lo = typeof spec.min === 'string' ? parseDuration(spec.min) : null;
      const hi = typeof spec.max === 'string' ? parseDuration(spec.max) : null;
      if (secs === 0) {
        return hi !== null
          ? trans('off is not allowed: at most %1', spec.max)
          : null;
      }
      if (lo !== null && secs < lo) {
        return trans('%1 is below the minimum %2', v, spec.min);
      }
      if (hi !== null && secs > hi) {
        return trans('%1 is above the maximum %2', v, spec.max);
      }
      return null;
    }
  }
  return trans('unknown type');
}

/**
 * The value a configuration itself gives key: the spec's default, else the
 * value in its `conf` (for `slurm.KEY`, its `launch.KEY`), else undefined.
 */
export function baselineValue(
  spec: IOverridableSpec,
  conf: Record<string, unknown> | undefined,
  key: string,
  launch?: Record<string, unknown> | null
): OverrideValue | undefined {
  if (spec.default !== undefined) {
    return spec.default;
  }
  if (key.startsWith('slurm.')) {
    const l = launch ? launch[key.slice(6)] : undefined;
    return typeof l === 'string' || typeof l === 'number' ? l : undefined;
  }
  if (spec.type === 'duration') {
    return undefined; // idle_stop is beside conf: see the dialog
  }
  const v = conf ? conf[key] : undefined;
  return typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'boolean'
    ? v
    : undefined;
}

/**
 * Parses and checks every input against its spec.  Returns the overrides
 * (values equal to the configuration's own value, `baselines[key]`, are
 * left out so that the configuration applies) and the errors by key.
 * An empty input (other than for a string) means "the configuration's
 * value".
 */
export function collectOverrides(
  specs: Record<string, IOverridableSpec>,
  texts: Record<string, string>,
  baselines: Record<string, OverrideValue | undefined> = {},
  trans: Translate = identity
): { overrides: Overrides; errors: Record<string, string> } {
  const overrides: Overrides = {};
  const errors: Record<string, string> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const text = texts[key];
    if (text === undefined || (text.trim() === '' && spec.type !== 'string')) {
      continue;
    }
    const parsed = parseInput(spec, text, trans);
    if ('error' in parsed) {
      errors[key] = parsed.error;
      continue;
    }
    const why = checkValue(spec, parsed.value, trans);
    if (why) {
      errors[key] = why;
    } else if (parsed.value !== baselines[key]) {
      overrides[key] = parsed.value;
    }
  }
  return { overrides, errors };
}

/**
 * The key a daemon `invalid_override` message is about ("spark.driver.memory:
 * 64g is above the maximum 8g"): the longest key the message names, or null.
 */
export function keyOfMessage(
  keys: readonly string[],
  message: string
): string | null {
  let best: string | null = null;
  for (const k of keys) {
    if (message.includes(k) && (best === null || k.length > best.length)) {
      best = k;
    }
  }
  return best;
}
