import { describe, expect, it } from 'vitest';
import { describeCondition, holds, parseCondition } from './condition.js';

describe('parseCondition', () => {
  it.each([
    ['< 0.01', { op: '<', value: 0.01 }],
    ['<=0.5', { op: '<=', value: 0.5 }],
    ['>= 0.99', { op: '>=', value: 0.99 }],
    ['> 0', { op: '>', value: 0 }],
    ['== 1', { op: '==', value: 1 }],
    ['!= -2', { op: '!=', value: -2 }],
    ['< 1e-3', { op: '<', value: 0.001 }],
    ['between 0.1 0.5', { op: 'between', low: 0.1, high: 0.5 }],
    ['between 1 and 2', { op: 'between', low: 1, high: 2 }],
  ])('reads %s', (text, condition) => {
    expect(parseCondition(text)).toEqual({ ok: true, condition });
  });

  it.each([
    ['0.01', 'a bare number has no operator'],
    ['<< 0.01', 'not a condition'],
    ['=< 1', 'not a condition'],
    ['< abc', 'not a condition'],
    ['between 0.5 0.1', 'the low bound 0.5 is above the high bound 0.1'],
    ['between 1', 'not a condition'],
    ['', 'not a condition'],
  ])('refuses %j', (text, reason) => {
    expect(parseCondition(text)).toEqual({ ok: false, reason });
  });
});

describe('holds', () => {
  const parse = (text: string) => {
    const parsed = parseCondition(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.condition;
  };
  it('compares at the boundaries', () => {
    expect(holds(parse('>= 0.99'), 0.99)).toBe(true);
    expect(holds(parse('> 0.99'), 0.99)).toBe(false);
    expect(holds(parse('< 0.01'), 0.01)).toBe(false);
    expect(holds(parse('<= 0.01'), 0.01)).toBe(true);
    expect(holds(parse('between 0.1 0.5'), 0.1)).toBe(true);
    expect(holds(parse('between 0.1 0.5'), 0.50001)).toBe(false);
    expect(holds(parse('!= 0'), 1)).toBe(true);
  });

  it('never passes NaN', () => {
    for (const text of ['< 1', '> 0', '!= 0', 'between -1 1'])
      expect(holds(parse(text), Number.NaN)).toBe(false);
  });

  it('describes a condition', () => {
    expect(describeCondition(parse('between 1 2'))).toBe('between 1 and 2');
    expect(describeCondition(parse('>=0.99'))).toBe('>= 0.99');
  });
});
