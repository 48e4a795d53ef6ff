import { describe, expect, it } from 'vitest';
import { noDataHint } from './no-data-hint.js';
import { promDuration, TEMPLATE_NAMES, templateQuery } from './templates.js';

const params = {
  namespace: 'shop',
  service: 'web',
  version: 'v2',
  window: '1m',
  requestsMetric: 'http_requests_total',
  durationMetric: 'http_request_duration_seconds',
  statusLabel: 'code',
};

describe('templateQuery', () => {
  it('builds the success rate of one version', () => {
    const built = templateQuery('success-rate', params);
    expect(built.query).toBe(
      '(sum(rate(http_requests_total{namespace="shop",service="web",version="v2",code!~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{namespace="shop",service="web",version="v2"}[1m]))',
    );
    expect(built.requestsQuery).toBe(
      'sum(increase(http_requests_total{namespace="shop",service="web",version="v2"}[1m]))',
    );
    expect(built.defaultCondition).toBe('>= 0.99');
  });

  it('builds the error rate of one version, 0 while there are no errors', () => {
    const built = templateQuery('error-rate', params);
    expect(built.query).toBe(
      '(sum(rate(http_requests_total{namespace="shop",service="web",version="v2",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{namespace="shop",service="web",version="v2"}[1m]))',
    );
    expect(built).toMatchObject({ defaultCondition: '<= 0.01', unit: 'ratio' });
  });

  it.each(TEMPLATE_NAMES)('%s never reads as no data for lack of matching requests', (name) => {
    for (const version of ['v2', undefined]) {
      const built = templateQuery(name, { ...params, version });
      expect(noDataHint(built.query)).toBeUndefined();
      expect(noDataHint(built.requestsQuery)).toBeUndefined();
    }
  });

  it('builds latency quantiles from the histogram', () => {
    expect(templateQuery('latency-p99', { ...params, version: undefined }).query).toBe(
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="shop",service="web"}[1m])))',
    );
  });

  it('uses the metric and label names it is given, quoting values', () => {
    const built = templateQuery('success-rate', {
      ...params,
      service: 'a"b',
      requestsMetric: 'requests',
      statusLabel: 'status',
    });
    expect(built.query).toContain('requests{namespace="shop",service="a\\"b",version="v2",status!~"5.."}');
  });

  it('writes PromQL durations', () => {
    expect([promDuration(60_000), promDuration(5000), promDuration(1500)]).toEqual(['1m', '5s', '1500ms']);
  });
});
