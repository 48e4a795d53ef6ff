/**
 * Pass conditions of a Prometheus check: `< 0.01`, `>= 0.99`, `== 1`, `between 0.1 0.5`.
 * A value passes when the condition holds; NaN never does.
 */
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export type Condition =
  | { readonly op: Operator; readonly value: number }
  | { readonly op: 'between'; readonly low: number; readonly high: number };

export const CONDITION_FORM =
  'a condition such as "< 0.01", ">= 0.99", "== 1" or "between 0.1 0.5" (an operator <, <=, >, >=, ==, != and a number)';

const NUMBER = String.raw`[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?`;
const COMPARISON = new RegExp(String.raw`^(<=|>=|==|!=|<|>)\s*(${NUMBER})$`);
const BETWEEN = new RegExp(String.raw`^between\s+(${NUMBER})\s+(?:and\s+)?(${NUMBER})$`, 'i');

export type ConditionParse = { ok: true; condition: Condition } | { ok: false; reason: string };

export function parseCondition(text: string): ConditionParse {
  const trimmed = text.trim();
  const comparison = COMPARISON.exec(trimmed);
  if (comparison) {
    const value = Number(comparison[2]);
    if (!Number.isFinite(value)) return { ok: false, reason: 'the number is not finite' };
    return { ok: true, condition: { op: comparison[1] as Operator, value } };
  }
  const between = BETWEEN.exec(trimmed);
  if (between) {
    const low = Number(between[1]);
    const high = Number(between[2]);
    if (!(low <= high)) return { ok: false, reason: `the low bound ${low} is above the high bound ${high}` };
    return { ok: true, condition: { op: 'between', low, high } };
  }
  if (/^[-+]?\d/.test(trimmed)) return { ok: false, reason: 'a bare number has no operator' };
  return { ok: false, reason: 'not a condition' };
}

export function holds(condition: Condition, value: number): boolean {
  if (Number.isNaN(value)) return false;
  switch (condition.op) {
    case '<':
      return value < condition.value;
    case '<=':
      return value <= condition.value;
    case '>':
      return value > condition.value;
    case '>=':
      return value >= condition.value;
    case '==':
      return value === condition.value;
    case '!=':
      return value !== condition.value;
    case 'between':
      return value >= condition.low && value <= condition.high;
  }
}

export function describeCondition(condition: Condition): string {
  return condition.op === 'between'
    ? `between ${condition.low} and ${condition.high}`
    : `${condition.op} ${condition.value}`;
}
