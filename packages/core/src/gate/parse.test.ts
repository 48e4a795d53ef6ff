import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseStatusMatcher, statusMatches } from './http-expect.js';
import { parseChecks } from './parse.js';

const defaults = { namespace: 'shop', prometheusUrl: 'http://prometheus:9090' };
const checks = (yaml: string) => parseChecks(parse(yaml), defaults);

describe('parseChecks', () => {
  it('reads one check of each kind', () => {
    const { checks: parsed, problems } = checks(`
- kind: http
  url: https://shop.example.com/healthz
  expect-status: [200, 3xx]
  json-path: $.status
  equals: ok
  max-latency: 500ms
- kind: prometheus
  template: success-rate
  service: web
  version: v2
  condition: ">= 0.95"
  window: 30s
- kind: pods
  deployment: web
- kind: command
  name: smoke
  command: [npm, run, smoke]
  consecutive: 2
`);
    expect(problems).toEqual([]);
    expect(parsed.map((c) => c.name)).toEqual(['http-1', 'success-rate', 'pods-web', 'smoke']);
    const [http, prometheus, pods, command] = parsed;
    expect(http).toMatchObject({
      kind: 'http',
      method: 'GET',
      via: 'direct',
      maxLatencyMs: 500,
      jsonPath: { path: '$.status', equals: 'ok' },
    });
    expect(prometheus).toMatchObject({
      kind: 'prometheus',
      condition: { op: '>=', value: 0.95 },
      minRequests: 10,
      target: { namespace: 'shop', service: 'web', version: 'v2' },
      prometheusUrl: 'http://prometheus:9090',
    });
    expect(prometheus?.kind === 'prometheus' && prometheus.query).toContain('[30s]');
    expect(pods).toMatchObject({
      kind: 'pods',
      deployment: 'web',
      maxRestarts: 0,
      rules: { critical: false, failureLimit: 1 },
    });
    // A check with its own consecutive rule has no default total limit on top of it.
    expect(command).toMatchObject({
      kind: 'command',
      command: ['npm', 'run', 'smoke'],
      rules: { consecutive: 2 },
    });
    expect(command?.rules.failureLimit).toBeUndefined();
  });

  it('reads a service-proxy http check', () => {
    const { checks: parsed, problems } = checks(`
- kind: http
  via: service-proxy
  service: web
  port: "80"
  path: /healthz
  critical: true
`);
    expect(problems).toEqual([]);
    expect(parsed[0]).toMatchObject({
      via: 'service-proxy',
      url: '/healthz',
      service: { name: 'web', port: '80' },
      rules: { critical: true },
    });
  });

  it('reads failure rules', () => {
    const { checks: parsed } = checks(`
- kind: pods
  selector: app=web,version=v2
  failure-limit: 3
  m-of-k: 2 of 5
  min-samples: 2
  on-no-data: fail
`);
    expect(parsed[0]).toMatchObject({
      selector: 'app=web,version=v2',
      onNoData: 'fail',
      rules: { failureLimit: 3, window: { failures: 2, of: 5 }, minSamples: 2 },
    });
  });

  it.each([
    ['kind: http', /the checks are a mapping: expected a YAML list of checks/],
    ['- just text', /check 1: "just text" is not a mapping/],
    [
      '- url: https://x.example.com',
      /check 1: "kind" is missing: expected one of http, prometheus, pods, command/,
    ],
    ['- kind: ping', /check 1: "kind" has value "ping": expected one of http, prometheus, pods, command/],
    [
      '- { kind: prometheus, query: up, condition: "<< 1" }',
      /check 1: "condition" has value "<< 1" \(not a condition\): expected a condition such as/,
    ],
    [
      '- { kind: prometheus, query: up, condition: 0.5 }',
      /"condition" has value 0.5 \(a bare number has no operator\)/,
    ],
    ['- { kind: prometheus, query: up }', /"condition" is missing: expected a condition/],
    [
      '- { kind: prometheus, template: success-rate }',
      /"service" is missing: expected the name of the Service/,
    ],
    [
      '- { kind: prometheus, template: error-budget, service: web }',
      /"template" has value "error-budget": expected one of success-rate, latency-p95, latency-p99, throughput/,
    ],
    [
      '- { kind: prometheus, query: up, template: throughput, service: web }',
      /"query" has value "up": expected either "query" or "template", not both/,
    ],
    [
      '- { kind: prometheus, query: up, condition: "> 0", window: 5m }',
      /"window" has value "5m": expected no "window" without a "template"/,
    ],
    ['- { kind: http, url: "ftp://x" }', /"url" has value "ftp:\/\/x": expected an http or https URL/],
    [
      '- { kind: http, url: "ftp://u:s3cr3t@x/h?token=t0k" }',
      /"url" has value "ftp:\/\/x\/h": expected an http or https URL/,
    ],
    [
      '- { kind: prometheus, query: up, condition: "> 0", prometheus-url: "user:s3cr3t@prom?token=t0k" }',
      /"prometheus-url" has value "\(a URL without a host, not shown\)": expected an http or https URL of Prometheus/,
    ],
    [
      '- { kind: http, url: "https://x.example.com", expect-status: 2zz }',
      /"expect-status" has value "2zz": expected a status such as 200/,
    ],
    [
      '- { kind: http, url: "https://x.example.com", timeout: 5 }',
      /"timeout" has value 5 \(a unit is required\): expected a duration/,
    ],
    [
      '- { kind: http, url: "https://x.example.com", timeout: -5s }',
      /"timeout" has value "-5s" \(a negative duration is not allowed\)/,
    ],
    [
      '- { kind: http, url: "https://x.example.com", method: FETCH }',
      /"method" has value "FETCH": expected one of GET/,
    ],
    [
      '- { kind: http, url: "https://x.example.com", json-path: $.a }',
      /"equals" is missing: expected the value the json-path must equal/,
    ],
    [
      '- { kind: http, via: service-proxy, url: "https://x.example.com" }',
      /"url" has value .*: expected no "url" with via: service-proxy/,
    ],
    [
      '- { kind: http, via: tunnel, url: "https://x.example.com" }',
      /"via" has value "tunnel": expected one of direct, service-proxy/,
    ],
    ['- { kind: pods }', /"deployment" is missing: expected exactly one of "deployment" and "selector"/],
    [
      '- { kind: pods, deployment: web, selector: app=web }',
      /expected exactly one of "deployment" and "selector"/,
    ],
    [
      '- { kind: pods, deployment: Web_1 }',
      /"deployment" has value "Web_1": expected the name of a Deployment/,
    ],
    [
      '- { kind: command, command: "npm run smoke && rm -rf /" }',
      /"command" has value .* \(a shell string is not run\): expected a list of program and arguments/,
    ],
    ['- { kind: command, command: [] }', /"command" has value \[\]: expected a list/],
    [
      '- { kind: pods, deployment: web, failure-limit: -1 }',
      /"failure-limit" has value -1: expected an integer from 0 up/,
    ],
    [
      '- { kind: pods, deployment: web, consecutive: 0 }',
      /"consecutive" has value 0: expected an integer from 1 up/,
    ],
    ['- { kind: pods, deployment: web, m-of-k: 5 of 2 }', /"m-of-k" has value "5 of 2": expected "M of K"/],
    [
      '- { kind: pods, deployment: web, critical: yes }',
      /"critical" has value "yes": expected true or false/,
    ],
    [
      '- { kind: pods, deployment: web, on-no-data: ignore }',
      /"on-no-data" has value "ignore": expected one of hold, pass, fail/,
    ],
    [
      '- { kind: pods, deployment: web, colour: red }',
      /"colour" has value "red" \(unknown key\): expected a known key of a pods check/,
    ],
    [
      '- { kind: pods, name: a, deployment: web }\n- { kind: pods, name: a, deployment: api }',
      /check 2 \("a"\): "name" has value "a" \(duplicate name\)/,
    ],
  ])('names the check, field, value and accepted form: %s', (yaml, message) => {
    const { problems } = checks(yaml);
    expect(problems.join('\n')).toMatch(message);
  });

  it('needs a Prometheus URL for prometheus checks', () => {
    const { problems } = parseChecks(
      parse('- { kind: prometheus, name: errors, query: up, condition: "> 0" }'),
      { namespace: 'shop' },
    );
    expect(problems).toEqual([
      'check 1 ("errors"): no Prometheus URL: expected the "prometheus-url" input (or gate.prometheus-url in the config file, or "prometheus-url" on the check)',
    ]);
  });

  it('reports every problem of every check at once', () => {
    const { problems, checks: parsed } = checks(
      '- { kind: ping }\n- { kind: pods, deployment: web, critical: 1, consecutive: x }',
    );
    expect(problems).toHaveLength(3);
    expect(parsed).toEqual([]);
  });
});

describe('comparison checks', () => {
  it('compares a template against the baseline version, sequentially by default', () => {
    const {
      checks: [check],
      problems,
    } = checks(
      '- { kind: prometheus, name: errors, template: success-rate, service: web, version: v2, compare: v1 }',
    );
    expect(problems).toEqual([]);
    if (check?.kind !== 'prometheus' || !check.compare) throw new Error('no comparison');
    expect(check.compare.sequential).toEqual({ alpha: 0.05, maxIncrease: 1, floor: 0.001 });
    expect(check.compare.measure).toBe('error-rate');
    expect(check.compare.baselineName).toBe('v1');
    expect(check.compare.canary.value).toBe(
      'sum(increase(http_requests_total{namespace="shop",service="web",version="v2",code=~"5.."}[$window])) or vector(0)',
    );
    expect(check.compare.baseline.requests).toBe(
      'sum(increase(http_requests_total{namespace="shop",service="web",version="v1"}[$window]))',
    );
    // The table and preflight see the canary's query over the template's window.
    expect(check.query).toContain('[1m]');
  });

  it('reads the sequential settings as shares, and latency as a fixed comparison', () => {
    const { checks: parsed, problems } = checks(`
- { kind: prometheus, name: e, template: success-rate, service: web, version: v2, compare: v1, max-increase: 50%, false-alarm-rate: 0.01, error-rate-floor: 0.5% }
- { kind: prometheus, name: l, template: latency-p95, service: web, version: v2, compare: v1 }
`);
    expect(problems).toEqual([]);
    const [e, l] = parsed as unknown as [{ compare: unknown }, { compare: unknown; condition: unknown }];
    expect(e.compare).toMatchObject({ sequential: { maxIncrease: 0.5, alpha: 0.01, floor: 0.005 } });
    expect(l.compare).toMatchObject({ measure: 'latency', window: { maxMs: 60_000 } });
    expect(l.compare).not.toHaveProperty('sequential');
    expect(l.condition).toEqual({ op: '<=', value: 0.2 });
  });

  it('takes explicit queries for both sides, over $window', () => {
    const {
      checks: [check],
      problems,
    } = checks(`
- kind: prometheus
  name: errors
  query: sum(increase(errors_total{v="2"}[$window]))
  requests-query: sum(increase(requests_total{v="2"}[$window]))
  compare:
    query: sum(increase(errors_total{v="1"}[$window]))
    requests-query: sum(increase(requests_total{v="1"}[$window]))
  test: fixed
  condition: "<= 0.02"
`);
    expect(problems).toEqual([]);
    expect(check).toMatchObject({
      query: 'sum(increase(errors_total{v="2"}[1m]))',
      condition: { op: '<=', value: 0.02 },
      compare: { measure: 'error-rate', baseline: { value: 'sum(increase(errors_total{v="1"}[$window]))' } },
    });
  });

  it.each([
    [
      'a template without a baseline to compare',
      '{ kind: prometheus, template: throughput, service: web, version: v2, compare: v1 }',
      /"compare" has value "v1" \(template throughput\): expected a template that can be compared: success-rate, error-rate, latency-p95, latency-p99/,
    ],
    [
      'no canary version',
      '{ kind: prometheus, template: success-rate, service: web, compare: v1 }',
      /"version" is missing: expected the canary's version label value, since "compare" is given/,
    ],
    [
      'a sequential latency test',
      '{ kind: prometheus, template: latency-p95, service: web, version: v2, compare: v1, test: sequential }',
      /"test" has value "sequential": expected fixed for a latency comparison/,
    ],
    [
      'a condition on a sequential test',
      '{ kind: prometheus, template: success-rate, service: web, version: v2, compare: v1, condition: "<= 0.01" }',
      /"condition" has value "<= 0.01": expected no "condition" with test: sequential/,
    ],
    [
      'a false-alarm rate out of range',
      '{ kind: prometheus, template: success-rate, service: web, version: v2, compare: v1, false-alarm-rate: 50% }',
      /"false-alarm-rate" has value "50%": expected a share from 0.1% to 20%, written as 5% or 0.05/,
    ],
    [
      'sequential settings without compare',
      '{ kind: prometheus, template: success-rate, service: web, max-increase: 50% }',
      /"max-increase" has value "50%": expected no "max-increase" without "compare"/,
    ],
    [
      'explicit queries without $window',
      '{ kind: prometheus, query: "sum(errors)", requests-query: "sum(requests)", compare: { query: "sum(e)", requests-query: "sum(r)" } }',
      /"compare" has value .* \(every query of a comparison reads its range as \$window/,
    ],
  ])('refuses %s, naming the field and the accepted form', (_, yaml, message) => {
    expect(checks(`- ${yaml}`).problems.join('\n')).toMatch(message);
  });
});

describe('expected statuses', () => {
  it('matches codes, classes, ranges and lists', () => {
    const matcher = parseStatusMatcher('200, 3xx, 401-403')!;
    expect([200, 302, 402, 404, 500].map((code) => statusMatches(matcher, code))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    expect(parseStatusMatcher([204])?.ranges).toEqual([[204, 204]]);
    expect(parseStatusMatcher('600')).toBeUndefined();
    expect(parseStatusMatcher('299-200')).toBeUndefined();
  });
});
