import {
  baselineValue,
  checkValue,
  collectOverrides,
  keyOfMessage,
  parseInput,
  parseDuration,
  parseMemory,
  toInputText
} from '../overrides';
import { IOverridableSpec } from '../types';

const MEM: IOverridableSpec = { type: 'memory', min: '512m', max: '8g' };
const INT: IOverridableSpec = { type: 'int', min: 1, max: 2000 };
const STR: IOverridableSpec = { type: 'string', max_length: 4 };
const CHOICE: IOverridableSpec = { type: 'choice', choices: ['a', 2, true] };

describe('parseMemory (the daemon rules)', () => {
  it.each([
    ['512m', 512 * 2 ** 20],
    ['512M', 512 * 2 ** 20],
    ['512mb', 512 * 2 ** 20],
    ['2g', 2 * 2 ** 30],
    ['2GB', 2 * 2 ** 30],
    ['1024', 1024 * 2 ** 20],
    ['100b', 100],
    ['3k', 3072],
    ['1t', 2 ** 40],
    ['1p', 2 ** 50]
  ])('%p is %p bytes', (s, n) => {
    expect(parseMemory(s)).toBe(n);
  });
  it.each([
    '',
    'g',
    '2x',
    '2bb',
    '2gbb',
    '-1g',
    '1.5g',
    ' 2g',
    '1234567890123456m'
  ])('%p is refused', s => {
    expect(parseMemory(s)).toBeNull();
  });
});

describe('checkValue', () => {
  it('memory within, below and above bounds', () => {
    expect(checkValue(MEM, '2g')).toBeNull();
    expect(checkValue(MEM, '512m')).toBeNull();
    expect(checkValue(MEM, '8g')).toBeNull();
    expect(checkValue(MEM, '256m')).toBe('256m is below the minimum 512m');
    expect(checkValue(MEM, '64g')).toBe('64g is above the maximum 8g');
    expect(checkValue(MEM, 'lots')).toBe(
      'lots is not a memory size such as 512m or 2g'
    );
    expect(checkValue(MEM, 2)).toContain('not a memory size');
    expect(checkValue({ type: 'memory' }, '1p')).toBeNull();
  });
  it('int within and outside bounds', () => {
    expect(checkValue(INT, 16)).toBeNull();
    expect(checkValue(INT, 0)).toBe('0 is below the minimum 1');
    expect(checkValue(INT, 2001)).toBe('2001 is above the maximum 2000');
    expect(checkValue(INT, 1.5)).toBe('must be a whole number');
    expect(checkValue(INT, '3')).toBe('must be a whole number');
  });
  it('string length in bytes', () => {
    expect(checkValue(STR, 'abcd')).toBeNull();
    expect(checkValue(STR, 'abcde')).toBe('is longer than 4 bytes');
    expect(checkValue(STR, 'éé')).toBeNull();
    expect(checkValue(STR, 'ééé')).toBe('is longer than 4 bytes');
    expect(checkValue(STR, 3)).toBe('must be text');
    expect(checkValue({ type: 'string' }, 'x'.repeat(256))).toBeNull();
    expect(checkValue({ type: 'string' }, 'x'.repeat(257))).not.toBeNull();
  });
  it('choices keep their types', () => {
    expect(checkValue(CHOICE, 'a')).toBeNull();
    expect(checkValue(CHOICE, 2)).toBeNull();
    expect(checkValue(CHOICE, '2')).toBe('2 is not one of the choices');
    expect(checkValue(CHOICE, true)).toBeNull();
  });
  it('translates', () => {
    const trans = (m: string, ...a: unknown[]) => `T(${m}|${a.join(',')})`;
    expect(checkValue(INT, 0, trans)).toBe('T(%1 is below the minimum %2|0,1)');
  });
});

describe('parseInput', () => {
  it('int', () => {
    expect(parseInput(INT, ' 42 ')).toEqual({ value: 42 });
    expect(parseInput(INT, '-3')).toEqual({ value: -3 });
    expect(parseInput(INT, '4.2')).toEqual({ error: 'must be a whole number' });
    expect(parseInput(INT, 'x')).toEqual({ error: 'must be a whole number' });
  });
  it('choice maps the text back to the typed choice', () => {
    expect(parseInput(CHOICE, '2')).toEqual({ value: 2 });
    expect(parseInput(CHOICE, 'true')).toEqual({ value: true });
    expect(parseInput(CHOICE, 'b')).toEqual({
      error: 'b is not one of the choices'
    });
  });
  it('memory is trimmed, string kept as typed', () => {
    expect(parseInput(MEM, ' 2g ')).toEqual({ value: '2g' });
    expect(parseInput(STR, ' a ')).toEqual({ value: ' a ' });
  });
  it('input text of values', () => {
    expect(toInputText(undefined)).toBe('');
    expect(toInputText(16)).toBe('16');
    expect(toInputText(true)).toBe('true');
  });
});

describe('collectOverrides', () => {
  const specs = {
    'spark.driver.memory': MEM,
    'spark.sql.shuffle.partitions': INT
  };
  const baselines = {
    'spark.driver.memory': '1g',
    'spark.sql.shuffle.partitions': 16
  };
  it('keeps only values that differ from the configuration', () => {
    const r = collectOverrides(
      specs,
      { 'spark.driver.memory': '2g', 'spark.sql.shuffle.partitions': '16' },
      baselines
    );
    expect(r).toEqual({
      overrides: { 'spark.driver.memory': '2g' },
      errors: {}
    });
  });
  it('empty inputs mean the configuration value', () => {
    const r = collectOverrides(
      specs,
      { 'spark.driver.memory': '', 'spark.sql.shuffle.partitions': ' ' },
      baselines
    );
    expect(r).toEqual({ overrides: {}, errors: {} });
  });
  it('reports every error by key', () => {
    const r = collectOverrides(
      specs,
      { 'spark.driver.memory': '64g', 'spark.sql.shuffle.partitions': 'many' },
      baselines
    );
    expect(r.overrides).toEqual({});
    expect(r.errors).toEqual({
      'spark.driver.memory': '64g is above the maximum 8g',
      'spark.sql.shuffle.partitions': 'must be a whole number'
    });
  });
  it('baseline values: spec default first, then conf', () => {
    expect(
      baselineValue({ type: 'memory', default: '2g' }, { k: '1g' }, 'k')
    ).toBe('2g');
    expect(baselineValue({ type: 'memory' }, { k: '1g' }, 'k')).toBe('1g');
    expect(
      baselineValue({ type: 'int' }, { k: { nested: 1 } }, 'k')
    ).toBeUndefined();
    expect(baselineValue({ type: 'int' }, undefined, 'k')).toBeUndefined();
  });
  it('baseline values of slurm.KEY come from the launch settings', () => {
    const launch = {
      type: 'slurm',
      nodes: 2,
      memory_per_node: '4g',
      time: '1h'
    };
    expect(baselineValue({ type: 'int' }, {}, 'slurm.nodes', launch)).toBe(2);
    expect(
      baselineValue({ type: 'memory' }, {}, 'slurm.memory_per_node', launch)
    ).toBe('4g');
    expect(baselineValue({ type: 'duration' }, {}, 'slurm.time', launch)).toBe(
      '1h'
    );
    expect(
      baselineValue({ type: 'int', default: 3 }, {}, 'slurm.nodes', launch)
    ).toBe(3);
    expect(
      baselineValue({ type: 'choice', choices: ['a'] }, {}, 'slurm.qos', launch)
    ).toBeUndefined();
    expect(
      baselineValue({ type: 'int' }, { 'slurm.nodes': 5 }, 'slurm.nodes')
    ).toBeUndefined();
  });
});

describe('keyOfMessage', () => {
  const keys = [
    'spark.executor.memory',
    'spark.executor.memoryOverhead',
    'spark.driver.memory'
  ];
  it('finds the key the daemon names (the longest match)', () => {
    expect(
      keyOfMessage(
        keys,
        'spark.executor.memoryOverhead: 9g is above the maximum 4g'
      )
    ).toBe('spark.executor.memoryOverhead');
    expect(
      keyOfMessage(keys, 'spark.driver.memory: 64g is above the maximum 8g')
    ).toBe('spark.driver.memory');
    expect(keyOfMessage(keys, 'overrides must be an object')).toBeNull();
  });
});

describe('durations (idle_stop, the daemon rules)', () => {
  it('parses h, m, s parts in order, off and 0 as never', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('30m')).toBe(1800);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('1h30m15s')).toBe(5415);
    expect(parseDuration('off')).toBe(0);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('168h')).toBe(168 * 3600);
  });
  it('refuses what the daemon refuses', () => {
    for (const bad of [
      '',
      '30',
      '30d',
      '30m1h',
      '1h 30m',
      '1h1h',
      '169h',
      'm',
      'OFF',
      '-5m'
    ]) {
      expect(parseDuration(bad)).toBeNull();
    }
  });
  it('checks bounds; off only without a max', () => {
    const spec: IOverridableSpec = { type: 'duration', min: '5m', max: '8h' };
    expect(checkValue(spec, '30m')).toBeNull();
    expect(checkValue(spec, '1m')).toBe('1m is below the minimum 5m');
    expect(checkValue(spec, '9h')).toBe('9h is above the maximum 8h');
    expect(checkValue(spec, 'off')).toBe('off is not allowed: at most 8h');
    expect(checkValue({ type: 'duration', min: '5m' }, 'off')).toBeNull();
    expect(checkValue(spec, '30')).toBe(
      '30 is not a duration such as 90s, 30m, 2h or 1h30m'
    );
    expect(parseInput(spec, ' 2h ')).toEqual({ value: '2h' });
  });
});
