import { describe, expect, it } from 'vitest';
import { noDataHint, noSeriesDetail } from './no-data-hint.js';

const ERRORS = 'sum(rate(http_requests_total{service="web",code=~"5.."}[1m]))';
const ALL = 'sum(rate(http_requests_total{service="web"}[1m]))';

describe('noDataHint: an error ratio whose numerator vanishes while there are no errors', () => {
  it('names the numerator and gives the query with `or vector(0)`', () => {
    const hint = noDataHint(`${ERRORS} / ${ALL}`);
    expect(hint?.culprit).toBe(ERRORS);
    expect(hint?.fixed).toBe(`(${ERRORS} or vector(0)) / ${ALL}`);
    expect(hint?.text).toContain('no errors yet');
    expect(hint?.text).toContain(`fall back to 0 in the numerator: (${ERRORS} or vector(0)) / ${ALL}`);
  });

  it.each([
    ['a parenthesised numerator', `(${ERRORS}) / ${ALL}`, `(${ERRORS} or vector(0)) / ${ALL}`],
    [
      'inside a percentage',
      `100 * (sum(increase(x{status="500"}[5m])) / sum(increase(x[5m])))`,
      `100 * ((sum(increase(x{status="500"}[5m])) or vector(0)) / sum(increase(x[5m])))`,
    ],
    ['a division with on()', `${ERRORS} / on() ${ALL}`, `(${ERRORS} or vector(0)) / on() ${ALL}`],
    [
      'a success ratio (no series once every request fails)',
      `1 - sum(rate(x{code!~"5.."}[1m])) / sum(rate(x[1m]))`,
      `1 - (sum(rate(x{code!~"5.."}[1m])) or vector(0)) / sum(rate(x[1m]))`,
    ],
    [
      'a separate error counter',
      'sum(rate(http_errors_total[1m])) / sum(rate(http_requests_total[1m]))',
      '(sum(rate(http_errors_total[1m])) or vector(0)) / sum(rate(http_requests_total[1m]))',
    ],
    [
      'a status value on another label name',
      'sum(irate(requests{response="5xx"}[30s])) / sum(irate(requests[30s]))',
      '(sum(irate(requests{response="5xx"}[30s])) or vector(0)) / sum(irate(requests[30s]))',
    ],
    [
      'grouped by version: the fallback keeps the labels',
      'sum by (version) (rate(x{code=~"5.."}[1m])) / sum by (version) (rate(x[1m]))',
      '(sum by (version) (rate(x{code=~"5.."}[1m])) or sum by (version) (rate(x[1m])) * 0) / sum by (version) (rate(x[1m]))',
    ],
    [
      'grouped after the arguments',
      'sum(rate(x{code=~"5.."}[1m])) by (pod) / sum(rate(x[1m])) by (pod)',
      '(sum(rate(x{code=~"5.."}[1m])) by (pod) or sum(rate(x[1m])) by (pod) * 0) / sum(rate(x[1m])) by (pod)',
    ],
    [
      'a comment and a path with slashes in a matcher',
      `# error ratio\nsum(rate(x{path="/api/v1",code=~"5.."}[1m] offset 1m)) / sum(rate(x{path="/api/v1"}[1m]))`,
      `# error ratio\n(sum(rate(x{path="/api/v1",code=~"5.."}[1m] offset 1m)) or vector(0)) / sum(rate(x{path="/api/v1"}[1m]))`,
    ],
  ])('%s', (_name, query, fixed) => {
    expect(noDataHint(query)?.fixed).toBe(fixed);
  });

  it.each([
    ['already falls back to 0', `(${ERRORS} or vector(0)) / ${ALL}`],
    ['already falls back with on()', `(${ERRORS} or on() vector(0)) / ${ALL}`],
    ['the denominator is the filtered one', `${ALL} / ${ERRORS.replace('5..', '2..')}`],
    ['no status filter (average latency)', 'sum(rate(d_sum[1m])) / sum(rate(d_count[1m]))'],
    ['no division', ERRORS],
    ['a quantile', 'histogram_quantile(0.95, sum by (le) (rate(d_bucket{code="200"}[1m])))'],
    ['a division by a constant', 'sum(rate(x{code=~"5.."}[1m])) * 60'],
    ['a gauge, not a rate', 'sum(up{status="ok"}) / count(up)'],
    ['an unterminated string', 'sum(rate(x{code=~"5..}[1m])) / sum(rate(x[1m]))'],
    ['unbalanced parentheses', `(${ERRORS} / ${ALL}`],
    ['not PromQL at all', 'select * from requests'],
  ])('no hint: %s', (_name, query) => {
    expect(noDataHint(query)).toBeUndefined();
  });
});

describe('noDataHint: a comparison that filters the series out', () => {
  it('says to move the comparison into the condition', () => {
    const hint = noDataHint(`${ERRORS} / ${ALL} > 0.01`);
    // The numerator trap comes first: it is the cause while there are no errors.
    expect(hint?.fixed).toBe(`(${ERRORS} or vector(0)) / ${ALL} > 0.01`);
    const filter = noDataHint(`${ALL} < 5`);
    expect(filter?.fixed).toBe(ALL);
    expect(filter?.text).toContain("put the comparison in the check's condition");
  });

  it('leaves a comparison with bool alone: it always answers', () => {
    expect(noDataHint(`${ALL} < bool 5`)).toBeUndefined();
  });
});

describe('noSeriesDetail', () => {
  it("is a sample's detail: no series, and the hint when the shape explains it", () => {
    expect(noSeriesDetail(`${ERRORS} / ${ALL}`)).toBe(
      `the query returned no series; hint: ${noDataHint(`${ERRORS} / ${ALL}`)!.text}`,
    );
    expect(noSeriesDetail(ALL)).toBe('the query returned no series');
  });
});
