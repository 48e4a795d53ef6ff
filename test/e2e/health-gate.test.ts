/**
 * health-gate end to end: the bundle run as the runner runs it, against the sandbox cluster and
 * the real Prometheus (1 s scrape), under the minimal Role its README documents.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { kind, startTestSandbox, workspace } from './fixtures.js';

/** The Role in actions/health-gate/README.md, as a sandbox token. */
const GATE_ROLE = {
  name: 'health-gate',
  namespaces: ['shop'],
  verbs: ['get', 'list'],
  resources: ['deployments.apps', 'pods', 'services', 'services/proxy'],
};

let sandbox: Sandbox;
let kubeconfig: string;
let prometheus: string;
/** The runner's temp folder goes with the run: reports the test reads are written here. */
let reports: string;

function createApp(name: string, env: Record<string, string>, replicas = 2): void {
  const labels = { app: name, version: 'v1' };
  sandbox.store.create(kind('Deployment'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop', labels },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name,
              image: `ghcr.io/acme/${name}:1.0.0`,
              ports: [{ containerPort: 8080 }],
              env: Object.entries(env).map(([key, value]) => ({ name: key, value })),
            },
          ],
        },
      },
    },
  });
  sandbox.store.create(kind('Service'), {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
  });
}

async function promValue(query: string): Promise<number | undefined> {
  const response = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data?: { result?: { value: [number, string] }[] } };
  const value = body.data?.result?.[0]?.value[1];
  return value === undefined ? undefined : Number(value);
}

/** Until Prometheus has `count` requests of a Service in a 5 s window: the gate's data must exist first. */
async function waitForTraffic(service: string, count: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // What the gate's 5 s window will see, not the raw counter: a new series needs two scrapes.
    const seen = await promValue(
      `sum(increase(http_requests_total{namespace="shop",service="${service}"}[5s]))`,
    );
    if (seen !== undefined && seen >= count) return;
    if (Date.now() > deadline)
      throw new Error(`Prometheus saw ${seen ?? 0} requests of ${service}, wanted ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function promQueries(): number {
  return sandbox.audit.entries.filter((e) => e.target === 'prometheus' && e.verb === 'query').length;
}

function gate(
  inputs: Record<string, string | undefined>,
  extra: { cwd?: string } = {},
): Promise<ActionResult> {
  return runAction({
    action: 'health-gate',
    inputs: { kubeconfig, namespace: 'shop', 'prometheus-url': prometheus, ...inputs },
    timeoutMs: 45_000,
    // The reports folder is the workspace: report-path must lie inside it (or RUNNER_TEMP).
    cwd: reports,
    ...extra,
  });
}

const successRate = (service: string, condition = '>= 0.95') =>
  `- kind: prometheus\n  template: success-rate\n  service: ${service}\n  version: v1\n  window: 5s\n  min-requests: 20\n  condition: "${condition}"\n`;

beforeAll(async () => {
  sandbox = await startTestSandbox({ prometheus: true, rps: 60 });
  prometheus = sandbox.prometheus!;
  reports = await mkdtemp(join(tmpdir(), 'gate-reports-'));
  kubeconfig = sandbox.kubeconfigFor(GATE_ROLE);
  createApp('web', {});
  createApp('flaky', { SANDBOX_ERROR_RATE: '0.2' });
  createApp('crashy', { SANDBOX_CRASH: 'true' });
  // A Service whose pods never become ready: the load generator has nowhere to send traffic.
  createApp('idle', { SANDBOX_NEVER_READY: 'true' }, 1);
  await Promise.all([waitForTraffic('web', 150), waitForTraffic('flaky', 150)]);
}, 60_000);
afterAll(async () => {
  await sandbox?.stop();
  if (reports) await rm(reports, { recursive: true, force: true });
});

describe('health-gate', () => {
  it('passes a healthy version, with a decision record and a monitoring section', async () => {
    const result = await gate({
      checks: `${successRate('web')}- kind: prometheus\n  template: latency-p95\n  service: web\n  window: 5s\n  condition: "< 0.5"\n- kind: pods\n  deployment: web\n`,
      duration: '5s',
      interval: '1s',
      'report-path': join(reports, 'healthy.json'),
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    expect(result.outputs['failed-checks']).toBe('');
    const report = JSON.parse(await readFile(result.outputs.report!, 'utf8')) as {
      verdict: string;
      checks: {
        name: string;
        verdict: string;
        samples: { outcome: string; detail: string; sampleSize?: number; threshold: string }[];
      }[];
    };
    expect(report.verdict).toBe('pass');
    expect(report.checks.map((c) => [c.name, c.verdict])).toEqual([
      ['success-rate', 'pass'],
      ['latency-p95', 'pass'],
      ['pods-web', 'pass'],
    ]);
    const rate = report.checks[0]!;
    expect(rate.samples).toHaveLength(6);
    expect(rate.samples.map((s) => [s.outcome, s.detail])).toEqual(
      Array(6).fill(['ok', expect.stringMatching(/^1\.0000 meets >= 0\.95, \d{2,} requests$/)]),
    );
    expect(
      rate.samples.every((s) => (s.sampleSize ?? 0) >= 20 && s.threshold === '>= 0.95, min-requests 20'),
    ).toBe(true);
    expect(result.summary).toContain('Health gate: ✅ pass');
    expect(result.summary).toContain('### Deploy monitoring');
    // The whole report, through the real Prometheus: replicas from the API server, the rest
    // from the sandbox's request, cAdvisor-style and kube-state metrics.
    expect(result.summary).toContain('| Health (ready / desired) | 100.00% (2 / 2) | 🟢 ok |');
    expect(result.summary).toContain('| Replicas desired / available / ready | 2 / 2 / 2 |');
    expect(result.summary).toMatch(/\| Error rate \| 0\.00% \| 🟢 ok \|/);
    expect(result.summary).toMatch(/\| Errors \| 0\.00 errors\/s \|/);
    expect(result.summary).toMatch(/\| Throughput \| [1-9]\d*\.\d\d requests\/s \|/);
    for (const metric of ['Latency avg', 'Latency p50', 'Latency p95', 'Latency p99'])
      expect(result.summary).toMatch(new RegExp(`\\| ${metric} \\| \\d+\\.\\d ms \\| `));
    expect(result.summary).toMatch(/\| CPU \| \d\.\d{3} cores \|/);
    expect(result.summary).toMatch(/\| Memory \| \d+\.\d MiB \|/);
    expect(result.summary).toMatch(/\| Disk \| \d+\.\d MiB \|/);
    expect(result.summary).not.toContain('Metrics that could not be read');
    expect(result.summary).toContain('```mermaid');
  });

  it('fails a version answering 20% errors as soon as the rule is met', async () => {
    const started = Date.now();
    const result = await gate({ checks: successRate('flaky'), duration: '10m', interval: '1s' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe('fail');
    expect(result.outputs['failed-checks']).toBe('success-rate');
    expect(result.errors.join('\n')).toMatch(
      /Health gate failed: check "success-rate" failed: 2 failed samples, more than failure-limit 1/,
    );
    // Two failed samples a second apart, not the 10 min duration (a wide bound for a busy machine).
    expect(Date.now() - started).toBeLessThan(120_000);
  });

  it('fails a crash-looping Deployment on the pods check without waiting for the duration', async () => {
    const result = await gate({ deployment: 'crashy', duration: '10m', interval: '1s' });
    expect(result.exitCode).toBe(1);
    expect(result.outputs.verdict).toBe('fail');
    expect(result.outputs['failed-checks']).toBe('deployment');
    expect(result.errors.join('\n')).toMatch(/CrashLoopBackOff|restarted/);
    // Not the 10 min duration; a wide bound for a busy machine.
    expect(Number(result.outputs.duration)).toBeLessThan(120);
  });

  it('holds on a Service without traffic and ends inconclusive, never pass', async () => {
    const [strict, lenient] = await Promise.all([
      gate({ checks: successRate('idle'), duration: '3s', interval: '1s' }),
      gate({ checks: successRate('idle'), duration: '3s', interval: '1s', 'on-inconclusive': 'pass' }),
    ]);
    expect(strict.outputs.verdict).toBe('inconclusive');
    expect(strict.exitCode).toBe(1);
    expect(strict.errors.join('\n')).toMatch(/inconclusive \(on-inconclusive: fail\): not enough evidence/);
    expect(strict.summary).toContain('⏸ no data');
    // on-inconclusive: pass changes the exit code, never the verdict.
    expect(lenient.outputs.verdict).toBe('inconclusive');
    expect(lenient.exitCode).toBe(0);
    expect(lenient.warnings.join('\n')).toMatch(/inconclusive, passed by on-inconclusive: pass/);
  });

  it('never passes when Prometheus goes away mid-gate', async () => {
    let remove: (() => void) | undefined;
    // Prometheus goes away after the preflight (2 queries) and two rounds of samples (2 queries
    // each), whatever the machine's speed: counted on the sandbox's audit log, not on a clock.
    const before = promQueries();
    const timer = setInterval(() => {
      if (remove === undefined && promQueries() - before >= 6) {
        remove = sandbox.faults.add({ target: 'prometheus', status: 503 });
      }
    }, 20);
    try {
      const result = await gate({
        checks: successRate('web'),
        duration: '5s',
        interval: '1s',
        'report-path': join(reports, 'prometheus-down.json'),
      });
      expect(result.outputs.verdict).toBe('inconclusive');
      expect(result.exitCode).toBe(1);
      const report = JSON.parse(await readFile(result.outputs.report!, 'utf8')) as {
        checks: { samples: { outcome: string; error?: boolean; detail: string }[] }[];
      };
      const samples = report.checks[0]!.samples;
      expect(samples.slice(0, 2).map((sample) => sample.outcome)).toEqual(['ok', 'ok']);
      expect(samples.at(-1)).toMatchObject({ outcome: 'no-data', error: true });
      expect(samples.at(-1)!.detail).toMatch(/Prometheus unreadable: .*503/);
    } finally {
      clearInterval(timer);
      remove?.();
    }
  });

  it('says why an error ratio reads as no data on a healthy service, and how to fix the query', async () => {
    const web = 'namespace="shop",service="web",version="v1"';
    const query = `sum(rate(http_requests_total{${web},code=~"5.."}[5s])) / sum(rate(http_requests_total{${web}}[5s]))`;
    const fixed = `(sum(rate(http_requests_total{${web},code=~"5.."}[5s])) or vector(0)) / sum(rate(http_requests_total{${web}}[5s]))`;
    // The trap is real: Prometheus answers nothing for the query as written, 0 for the fixed one.
    expect(await promValue(query)).toBeUndefined();
    expect(await promValue(fixed)).toBe(0);
    const result = await gate({
      checks: `- kind: prometheus\n  name: errors\n  query: '${query}'\n  condition: "< 0.05"\n`,
      duration: '2s',
      interval: '1s',
      'report-path': join(reports, 'no-data-hint.json'),
    });
    expect(result.outputs.verdict).toBe('inconclusive');
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(await readFile(result.outputs.report!, 'utf8')) as {
      checks: { samples: { outcome: string; detail: string }[] }[];
    };
    const samples = report.checks[0]!.samples;
    expect(samples.length).toBeGreaterThanOrEqual(2);
    for (const sample of samples) {
      expect(sample.outcome).toBe('no-data');
      expect(sample.detail).toContain('the query returned no series; hint: the numerator');
      expect(sample.detail).toContain(`fall back to 0 in the numerator: ${fixed}`);
    }
    expect(result.summary).toContain(`fall back to 0 in the numerator: ${fixed}`);
  });

  it("puts the monitoring alerts of a failing version in notify-slack's message", async () => {
    const report = join(reports, 'flaky-monitoring.json');
    const gated = await gate({
      checks: successRate('flaky'),
      // Memory always exceeds 1 MiB: a warning the sandbox gives every time.
      monitoring: 'deployment: flaky\nthresholds:\n  memory: { warning: 1Mi }\n',
      duration: '30s',
      interval: '1s',
      'report-path': report,
    });
    expect(gated.outputs.verdict).toBe('fail');
    // Replicas come from kube-state metrics here: no check needs the Kubernetes API.
    expect(gated.summary).toContain('| Replicas desired / available / ready | 2 / 2 / 2 |');
    expect(gated.summary).toMatch(/\| Error rate \| \d+\.\d\d% \| 🔴 critical \|/);
    expect(gated.summary).toMatch(/\| Memory \| \d+\.\d MiB \| 🟠 warning \| warning > 1\.0 MiB \|/);

    const before = sandbox.slack.messages.length;
    const notified = await runAction({
      action: 'notify-slack',
      inputs: { 'webhook-url': sandbox.slack.webhookUrl, status: 'failure', app: 'flaky', report },
      cwd: reports,
      timeoutMs: 20_000,
    });
    expect(notified.errors).toEqual([]);
    expect(notified.exitCode).toBe(0);
    expect(sandbox.slack.messages).toHaveLength(before + 1);
    const message = sandbox.slack.messages.at(-1)!;
    const attachment = (message.attachments as { blocks: { text?: { text: string } }[] }[])[0]!;
    const lines = attachment.blocks.flatMap((b) => b.text?.text.split('\n') ?? []);
    expect(lines).toContain(':red_circle: *Gate verdict: fail* (1 of 1 check not passing)');
    expect(lines.find((l) => l.startsWith('*Monitoring alerts: '))).toMatch(
      /^\*Monitoring alerts: 1 critical, [1-9]\d* warning\*$/,
    );
    expect(lines).toContainEqual(
      expect.stringMatching(/^• :red_circle: \*critical\* `error-rate` \d+\.\d\d% \(threshold > 5\.00%\)$/),
    );
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^• :large_orange_circle: \*warning\* `memory` \d+\.\d MiB \(threshold > 1\.0 MiB\)$/,
      ),
    );
    expect(notified.summary).toMatch(/\| Monitoring alerts \| 1 critical, [1-9]\d* warning \|/);
  });

  it('probes a Service through the API server proxy, with no direct route', async () => {
    const result = await gate({
      checks:
        '- kind: http\n  name: web-health\n  via: service-proxy\n  service: web\n  path: /\n  json-path: $.version\n  equals: v1\n  critical: true\n',
      duration: '2s',
      interval: '1s',
    });
    expect(result.errors).toEqual([]);
    expect(result.outputs.verdict).toBe('pass');
    const proxied = sandbox.audit.entries.filter(
      (e) => e.target === 'api' && e.path.includes('/services/web/proxy/'),
    );
    expect(proxied.length).toBeGreaterThanOrEqual(3);
    expect(proxied.every((e) => e.user === 'health-gate' && e.status === 200)).toBe(true);
  });
});

describe('health-gate bad input: exit 1, the input named, before any observation', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await workspace({
      '.github/deploy.yml':
        'environments:\n  staging:\n    namespace: shop\n    gate:\n      interval: 10m\n',
    });
  });

  type Case = [title: string, inputs: Record<string, string>, input: string, mention: RegExp];
  const cases: Case[] = [
    ['no check at all', {}, 'checks', /no check was given/],
    ['unparseable checks YAML', { checks: '- kind: http\n  url: [' }, 'checks', /YAML list of checks/],
    ['an unknown kind', { checks: '- kind: ping' }, 'checks', /"kind" has value "ping"/],
    [
      'bad condition syntax',
      { checks: '- { kind: prometheus, query: up, condition: "=< 1" }' },
      'checks',
      /"condition" has value "=< 1"/,
    ],
    [
      'an unknown template',
      { checks: '- { kind: prometheus, template: apdex, service: web }' },
      'checks',
      /"template" has value "apdex"/,
    ],
    [
      'a bad expected status',
      { checks: '- { kind: http, url: "http://x.example", expect-status: 20x }' },
      'checks',
      /expect-status/,
    ],
    [
      'a command as a shell string',
      { checks: '- { kind: command, command: "curl x | sh" }' },
      'checks',
      /a shell string is not run/,
    ],
    [
      'an unknown check key',
      { checks: '- { kind: pods, deployment: web, restarts: 3 }' },
      'checks',
      /"restarts" has value 3 \(unknown key\)/,
    ],
    ['a bad url input', { url: 'ftp://example.com' }, 'url', /Input "url" has value "ftp:\/\/example.com"/],
    ['query without threshold', { query: 'up' }, 'threshold', /"threshold" is required with "query"/],
    [
      'a threshold without operator',
      { query: 'up', threshold: '0.99' },
      'threshold',
      /Input "threshold" has value "0.99"/,
    ],
    [
      'query without prometheus-url',
      { query: 'up', threshold: '> 0', 'prometheus-url': '' },
      'query',
      /no Prometheus URL/,
    ],
    [
      'interval longer than duration',
      { deployment: 'web', duration: '5s', interval: '10s' },
      'interval',
      /no longer than "duration"/,
    ],
    [
      'interval from the config longer than duration',
      { deployment: 'web', environment: 'staging', duration: '1m' },
      'interval',
      /no longer than "duration"/,
    ],
    ['a negative duration', { deployment: 'web', duration: '-5s' }, 'duration', /negative duration/],
    [
      'an unknown on-no-data',
      { deployment: 'web', 'on-no-data': 'ignore' },
      'on-no-data',
      /one of hold, pass, fail/,
    ],
    [
      'a negative min-requests',
      { deployment: 'web', 'min-requests': '-1' },
      'min-requests',
      /an integer from 0/,
    ],
    [
      'a bad monitoring threshold',
      { deployment: 'web', monitoring: 'thresholds:\n  error-rate: { warning: high }' },
      'monitoring',
      /thresholds.error-rate.warning/,
    ],
    ['an unknown environment', { deployment: 'web', environment: 'prod' }, 'environment', /one of staging/],
    [
      'a Deployment that does not exist',
      { deployment: 'nope' },
      'deployment',
      /Deployment shop\/nope not found/,
    ],
    [
      'a Service proxy to a missing Service',
      { checks: '- { kind: http, via: service-proxy, service: nope }' },
      'checks',
      /Service shop\/nope not found/,
    ],
    [
      'a garbage kubeconfig',
      { deployment: 'web', kubeconfig: 'not a kubeconfig' },
      'kubeconfig',
      /kubeconfig/,
    ],
  ];

  it(`refuses ${cases.length} bad inputs without a Prometheus query or a sample`, async () => {
    const before = promQueries();
    const results: ActionResult[] = [];
    for (let i = 0; i < cases.length; i += 8) {
      results.push(
        ...(await Promise.all(cases.slice(i, i + 8).map(([, inputs]) => gate(inputs, { cwd: ws })))),
      );
    }
    const wrong: string[] = [];
    results.forEach((result, i) => {
      const [title, , input, mention] = cases[i]!;
      const errors = result.errors.join('\n');
      if (result.exitCode !== 1) wrong.push(`${title}: exit ${result.exitCode}`);
      if (!errors.includes(`Input "${input}"`)) wrong.push(`${title}: no Input "${input}" in ${errors}`);
      if (!mention.test(errors)) wrong.push(`${title}: ${String(mention)} not in ${errors}`);
      if (result.outputs.verdict !== undefined) wrong.push(`${title}: a verdict was set`);
      if (/Observing \d+ check/.test(result.log)) wrong.push(`${title}: observation started`);
    });
    expect(wrong).toEqual([]);
    expect(promQueries()).toBe(before);
  }, 120_000);

  it('refuses a query Prometheus rejects before observing', async () => {
    const result = await gate({ query: 'sum(rate(http_requests_total[5m]', threshold: '> 0' });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(
      /Input "query": check "query": Prometheus rejected the query .*bad_data/,
    );
    expect(result.outputs.verdict).toBeUndefined();
    expect(result.log).not.toMatch(/Observing \d+ check/);
  });
});
