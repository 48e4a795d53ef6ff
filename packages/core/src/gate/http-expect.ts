/**
 * Expected HTTP statuses of an http check: `200`, `2xx`, `200-299`, or a list of those
 * (`[200, 204, 3xx]` or `"200, 204"`).
 */
export interface StatusMatcher {
  readonly text: string;
  readonly ranges: readonly (readonly [number, number])[];
}

export const STATUS_FORM =
  'a status such as 200, a class such as 2xx, a range such as 200-299, or a list of them';

function parseOne(item: string): [number, number] | undefined {
  const text = item.trim().toLowerCase();
  let match = /^([1-5])xx$/.exec(text);
  if (match) {
    const hundred = Number(match[1]) * 100;
    return [hundred, hundred + 99];
  }
  match = /^(\d{3})\s*-\s*(\d{3})$/.exec(text);
  if (match) {
    const low = Number(match[1]);
    const high = Number(match[2]);
    return low >= 100 && high <= 599 && low <= high ? [low, high] : undefined;
  }
  match = /^(\d{3})$/.exec(text);
  if (match) {
    const code = Number(match[1]);
    return code >= 100 && code <= 599 ? [code, code] : undefined;
  }
  return undefined;
}

export function parseStatusMatcher(value: unknown): StatusMatcher | undefined {
  const items = Array.isArray(value)
    ? (value as unknown[]).map((item): unknown => (typeof item === 'number' ? String(item) : item))
    : typeof value === 'number'
      ? [String(value)]
      : typeof value === 'string'
        ? value.split(',')
        : undefined;
  if (!items || items.length === 0) return undefined;
  const ranges: [number, number][] = [];
  for (const item of items) {
    if (typeof item !== 'string') return undefined;
    const range = parseOne(item);
    if (!range) return undefined;
    ranges.push(range);
  }
  return { text: items.map((item) => String(item).trim()).join(', '), ranges };
}

export function statusMatches(matcher: StatusMatcher, status: number): boolean {
  return matcher.ranges.some(([low, high]) => status >= low && status <= high);
}

export const DEFAULT_STATUS: StatusMatcher = { text: '2xx', ranges: [[200, 299]] };
