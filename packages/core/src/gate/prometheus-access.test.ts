import { describe, expect, it } from 'vitest';
import {
  accessFor,
  accessHeaders,
  DIRECT_ACCESS,
  inClusterPrometheus,
  type PrometheusAccess,
} from './prometheus-access.js';

const access: PrometheusAccess = { bearerToken: 't0ken', headers: { 'X-Scope-OrgID': 'a' }, via: 'direct' };

describe('accessFor', () => {
  const main = { prometheusUrl: 'https://prom.example.com/prom', prometheus: access };

  it.each([
    ['https://prom.example.com/prom', access],
    ['https://prom.example.com/other/path?x=1', access],
    ['https://prom.example.com:443/', access],
    ['http://prom.example.com/prom', DIRECT_ACCESS],
    ['https://prom.example.com:8443/prom', DIRECT_ACCESS],
    ['https://evil.example.com/prom', DIRECT_ACCESS],
    ['https://prom.example.com.evil.io/prom', DIRECT_ACCESS],
    ['not a url', DIRECT_ACCESS],
  ])('%s', (url, expected) => {
    expect(accessFor(url, main)).toBe(expected);
  });

  it('gives none without a main Prometheus or an access', () => {
    expect(accessFor('https://prom.example.com/prom', { prometheus: access })).toBe(DIRECT_ACCESS);
    expect(accessFor('https://prom.example.com/prom', { prometheusUrl: main.prometheusUrl })).toBe(
      DIRECT_ACCESS,
    );
  });
});

describe('accessHeaders', () => {
  it('adds Authorization for a token or basic auth to the extra headers', () => {
    expect(accessHeaders(access)).toEqual({ 'X-Scope-OrgID': 'a', Authorization: 'Bearer t0ken' });
    expect(
      accessHeaders({ basicAuth: { username: 'u', password: 'p:w' }, headers: {}, via: 'direct' }),
    ).toEqual({ Authorization: `Basic ${Buffer.from('u:p:w').toString('base64')}` });
    expect(accessHeaders(DIRECT_ACCESS)).toEqual({});
  });
});

describe('inClusterPrometheus', () => {
  it.each([
    [
      'http://prometheus.monitoring:9090',
      { scheme: 'http', name: 'prometheus', namespace: 'monitoring', port: '9090', prefix: '', search: '' },
    ],
    [
      'http://prometheus.monitoring.svc:9090/',
      { name: 'prometheus', namespace: 'monitoring', port: '9090', prefix: '' },
    ],
    [
      'https://prom-k8s.mon.svc.cluster.local/prom/?a=1',
      { scheme: 'https', name: 'prom-k8s', namespace: 'mon', port: '443', prefix: '/prom', search: '?a=1' },
    ],
    ['http://thanos-query.obs', { port: '80' }],
  ])('%s', (url, expected) => {
    expect(inClusterPrometheus(url)).toMatchObject(expected);
  });

  it.each([
    ['http://prometheus:9090', /does not name a Service and its namespace/],
    ['http://10.0.0.7:9090', /does not name a Service and its namespace/],
    ['https://prometheus.example.com', /is not a cluster name/],
    ['http://prom_etheus.monitoring:9090', /does not name/],
    ['ftp://prometheus.monitoring', /scheme ftp: is not allowed/],
    ['prometheus.monitoring', /scheme prometheus\.monitoring: is not allowed|not a URL/],
  ])('refuses %s', (url, reason) => {
    const found = inClusterPrometheus(url);
    expect('reason' in found && found.reason).toMatch(reason);
  });
});
