/**
 * Secrets never printed, end to end: every action gets a credentialed Prometheus URL (one that
 * answers, one on a dead port so the error path runs), a Secret manifest with distinctive values,
 * the GitHub token and the Slack token and webhook. None of those values may appear in the log,
 * the outputs, the job summary, the annotations, the decision record, what Slack and GitHub
 * received, or any object the actions left in the cluster (records, history, leases, events).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import { RESOURCE_TYPES } from '../../packages/sandbox/src/resources.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import {
  BLUE_GREEN_ROLE,
  deploymentManifest,
  live,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const distinct = (label: string): string => `${label}${randomBytes(6).toString('hex')}`;

const PROM_PASSWORD = distinct('s3cr3tpass');
const PROM_TOKEN = distinct('t0ken');
const DB_PASSWORD = distinct('dbpass');
const API_KEY = distinct('apikey');
const DB_PASSWORD_2 = distinct('dbpass2');
const API_KEY_2 = distinct('apikey2');
const NEW_KEY = distinct('newkey');

/** The role the actions run under: what deploy-blue-green documents, plus the Secrets the manifests hold. */
const ROLE = {
  ...BLUE_GREEN_ROLE,
  name: 'with-secrets',
  resources: [...BLUE_GREEN_ROLE.resources, 'secrets'],
};

let sandbox: Sandbox;
let kubeconfig: string;
/** The sandbox's Prometheus behind userinfo and a ?token= (which it ignores). */
let promUrl: string;
/** The same credentials on a port nothing listens on. */
let deadPromUrl: string;
let deadPort: number;

/** Every value that must never be shown, by name (the name is what a failure prints). */
function secrets(): Record<string, string> {
  const webhookPath = new URL(sandbox.slack.webhookUrl).pathname;
  return {
    'prometheus password': PROM_PASSWORD,
    'prometheus token': PROM_TOKEN,
    'Secret data value': DB_PASSWORD,
    'Secret data value, base64': b64(DB_PASSWORD),
    'Secret stringData value': API_KEY,
    'Secret stringData value, base64': b64(API_KEY),
    'changed data value': DB_PASSWORD_2,
    'changed data value, base64': b64(DB_PASSWORD_2),
    'changed stringData value': API_KEY_2,
    'changed stringData value, base64': b64(API_KEY_2),
    'added stringData value': NEW_KEY,
    'added stringData value, base64': b64(NEW_KEY),
    'GitHub token': sandbox.github.token,
    'Slack token': sandbox.slack.token,
    'Slack webhook secret': webhookPath.split('/').pop()!,
  };
}

/** Names of the secrets found in `text`, as "<channel>: <secret name>". */
function leaks(channel: string, text: string): string[] {
  return Object.entries(secrets())
    .filter(([, value]) => text.includes(value))
    .map(([name]) => `${channel}: ${name}`);
}

/** Every channel a run writes to: the log, the outputs, the summary, the workflow commands, env and state. */
function channels(result: ActionResult): Record<string, string> {
  return {
    log: result.log,
    outputs: JSON.stringify(result.outputs),
    summary: result.summary,
    errors: result.errors.join('\n'),
    warnings: result.warnings.join('\n'),
    commands: JSON.stringify(result.commands.filter((c) => c.command !== 'add-mask')),
    env: JSON.stringify(result.exportedEnv),
    state: JSON.stringify(result.state),
  };
}

function expectNoLeak(result: ActionResult): void {
  const found = Object.entries(channels(result)).flatMap(([channel, text]) => leaks(channel, text));
  expect(found).toEqual([]);
}

/** Everything a run printed, for positive checks (that the run took the path the test means). */
function printed(result: ActionResult): string {
  return Object.values(channels(result)).join('\n');
}

function secretManifest(
  data: Record<string, string>,
  stringData: Record<string, string>,
  name: string,
): string {
  const map = (entries: Record<string, string>, encode: (v: string) => string): string =>
    Object.entries(entries)
      .map(([key, value]) => `  ${key}: "${encode(value)}"`)
      .join('\n');
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
type: Opaque
data:
${map(data, b64)}
stringData:
${map(stringData, (v) => v)}
`;
}

/** The deploy config every workspace carries: the credentialed Prometheus URL as the gate's default. */
function deployConfig(prometheusUrl: string): string {
  return `environments:\n  staging:\n    namespace: shop\n    gate:\n      prometheus-url: "${prometheusUrl}"\n`;
}

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A run as the runner makes it, with what every action shares: cluster, environment, tokens. */
async function run(
  action: string,
  cwd: string,
  inputs: Record<string, string | undefined>,
  env: Record<string, string> = {},
): Promise<ActionResult> {
  const result = await runAction({
    action,
    cwd,
    inputs: {
      kubeconfig,
      namespace: 'shop',
      environment: 'staging',
      'github-token': sandbox.github.token,
      ...inputs,
    },
    env: { GITHUB_API_URL: sandbox.github.url, SLACK_API_URL: `${sandbox.slack.url}/api`, ...env },
    timeoutMs: 90_000,
  });
  expectNoLeak(result);
  return result;
}

beforeAll(async () => {
  sandbox = await startTestSandbox({ prometheus: true, rps: 50 });
  kubeconfig = sandbox.kubeconfigFor(ROLE);
  const prometheus = new URL(sandbox.prometheus!);
  deadPort = await freePort();
  promUrl = `http://promuser:${PROM_PASSWORD}@${prometheus.host}/?token=${PROM_TOKEN}`;
  deadPromUrl = `http://promuser:${PROM_PASSWORD}@127.0.0.1:${deadPort}/?token=${PROM_TOKEN}`;
}, 60_000);
afterAll(async () => sandbox?.stop());

describe('deploy-rolling', () => {
  const files = (image: string, data: Record<string, string>, stringData: Record<string, string>) => ({
    '.github/deploy.yml': deployConfig(promUrl),
    'k8s/app.yaml': [
      deploymentManifest({ name: 'vault', image, replicas: 2 }),
      serviceManifest('vault'),
      secretManifest(data, stringData, 'vault-credentials'),
    ].join('---\n'),
  });

  it('applies a Secret without printing its values', async () => {
    const result = await run(
      'deploy-rolling',
      await workspace(
        files('ghcr.io/acme/vault:1.0.0', { 'db-password': DB_PASSWORD }, { 'api-key': API_KEY }),
      ),
      { manifests: 'k8s/app.yaml', app: 'vault', 'prometheus-url': promUrl },
    );
    expect(result.exitCode, result.log).toBe(0);
    const secret = live(sandbox, 'Secret', 'shop', 'vault-credentials') as { data?: Record<string, string> };
    expect(secret.data).toEqual({ 'db-password': b64(DB_PASSWORD), 'api-key': b64(API_KEY) });
  });

  it('dry run: the diff shows which Secret keys change, masked as kubectl does', async () => {
    const result = await run(
      'deploy-rolling',
      await workspace(
        files(
          'ghcr.io/acme/vault:2.0.0',
          { 'db-password': DB_PASSWORD_2 },
          { 'api-key': API_KEY, 'new-key': NEW_KEY },
        ),
      ),
      { manifests: 'k8s/app.yaml', app: 'vault', 'dry-run': 'true', 'prometheus-url': promUrl },
    );
    expect(result.exitCode, result.log).toBe(0);
    expect(result.summary).toContain('Secret/vault-credentials');
    expect(result.summary).toMatch(/^-\s+db-password: "\*\*\* \(before\)"$/m);
    expect(result.summary).toMatch(/^\+\s+db-password: "\*\*\* \(after\)"$/m);
    expect(result.summary).toMatch(/^\+\s+new-key: "\*\*\*"$/m);
    expect(result.summary).toMatch(/^ \s+api-key: "\*\*\*"$/m);
    // Nothing applied: the cluster still holds the first values.
    const secret = live(sandbox, 'Secret', 'shop', 'vault-credentials') as { data?: Record<string, string> };
    expect(secret.data?.['db-password']).toBe(b64(DB_PASSWORD));
  });

  it('applies a changed Secret: the cluster gets the real values, the log none of them', async () => {
    const result = await run(
      'deploy-rolling',
      await workspace(
        files(
          'ghcr.io/acme/vault:2.0.0',
          { 'db-password': DB_PASSWORD_2 },
          { 'api-key': API_KEY_2, 'new-key': NEW_KEY },
        ),
      ),
      { manifests: 'k8s/app.yaml', app: 'vault', 'prometheus-url': promUrl },
    );
    expect(result.exitCode, result.log).toBe(0);
    const secret = live(sandbox, 'Secret', 'shop', 'vault-credentials') as { data?: Record<string, string> };
    expect(secret.data).toEqual({
      'db-password': b64(DB_PASSWORD_2),
      'api-key': b64(API_KEY_2),
      'new-key': b64(NEW_KEY),
    });
  });
});

describe('rollback', () => {
  it('dry run and rollback, with GitHub failing, print no secret', async () => {
    const cwd = await workspace({ '.github/deploy.yml': deployConfig(deadPromUrl) });
    const dry = await run('rollback', cwd, {
      app: 'vault',
      'dry-run': 'true',
      'prometheus-url': deadPromUrl,
    });
    expect(dry.exitCode, dry.log).toBe(0);
    const removeFault = sandbox.faults.add({ target: 'github', status: 500 });
    try {
      const result = await run('rollback', cwd, { app: 'vault', reason: 'secrets test' });
      expect(result.exitCode, result.log).toBe(0);
      expect(result.outputs['to-revision']).not.toBe('');
      // GitHub's refusal was reported: the token's error path ran.
      expect(result.warnings.join('\n')).toMatch(/GitHub/);
    } finally {
      removeFault();
    }
  });
});

describe('deploy-blue-green', () => {
  const files = (image: string, prometheusUrl: string) => ({
    '.github/deploy.yml': deployConfig(prometheusUrl),
    'k8s/app.yaml': [
      deploymentManifest({ name: 'pay', image, replicas: 2 }),
      serviceManifest('pay'),
      secretManifest({ 'db-password': DB_PASSWORD }, { 'api-key': API_KEY }, 'pay-credentials'),
    ].join('---\n'),
  });
  const promCheck = '- { kind: prometheus, name: prometheus-up, query: "sum(up)", condition: "> 0" }';

  function blueGreen(image: string, prometheusUrl: string): Promise<ActionResult> {
    return workspace(files(image, prometheusUrl)).then((cwd) =>
      run('deploy-blue-green', cwd, {
        manifests: 'k8s/app.yaml',
        'prometheus-url': prometheusUrl,
        'pre-switch-checks': promCheck,
        'pre-switch-duration': '5s',
        'verify-duration': '1s',
        'check-interval': '500ms',
        timeout: '45s',
      }),
    );
  }

  it('deploys and confirms the switch through the credentialed Prometheus URL', async () => {
    const first = await blueGreen('ghcr.io/acme/pay:1.0.0', promUrl);
    expect(first.exitCode, first.log).toBe(0);
    const second = await blueGreen('ghcr.io/acme/pay:2.0.0', promUrl);
    expect(second.exitCode, second.log).toBe(0);
    // Prometheus answered through userinfo and ?token=: the query URL kept the API path.
    expect(second.log).toMatch(/observed traffic: \d+ request\(s\) between two scrapes, all answered by/);
    expect(second.outputs.switched).toBe('true');
    const secret = live(sandbox, 'Secret', 'shop', 'pay-credentials') as { data?: Record<string, string> };
    expect(secret.data).toEqual({ 'db-password': b64(DB_PASSWORD), 'api-key': b64(API_KEY) });
  });

  it('fails before the switch when Prometheus is down, naming it without its credentials', async () => {
    const before = (
      live(sandbox, 'Service', 'shop', 'pay') as { spec?: { selector?: Record<string, string> } }
    ).spec?.selector?.version;
    const result = await blueGreen('ghcr.io/acme/pay:3.0.0', deadPromUrl);
    expect(result.exitCode).toBe(1);
    expect(
      (live(sandbox, 'Service', 'shop', 'pay') as { spec?: { selector?: Record<string, string> } }).spec
        ?.selector?.version,
    ).toBe(before);
    expect(printed(result)).toContain(`127.0.0.1:${deadPort}`);
  });
});

describe('health-gate and notify-slack', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = await workspace({ '.github/deploy.yml': deployConfig(promUrl) });
  });

  it('health-gate reads the credentialed Prometheus URL, and records no credential', async () => {
    const result = await run('health-gate', cwd, {
      'prometheus-url': promUrl,
      query: 'sum(up)',
      threshold: '> 0',
      duration: '2s',
      interval: '1s',
      'report-path': 'reports/live.json',
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.verdict).toBe('pass');
    expect(leaks('report', await readFile(join(cwd, 'reports/live.json'), 'utf8'))).toEqual([]);
  });

  it('health-gate on a dead Prometheus names it without its credentials', async () => {
    const result = await run('health-gate', cwd, {
      'prometheus-url': deadPromUrl,
      query: 'sum(up)',
      threshold: '> 0',
      duration: '2s',
      interval: '1s',
      'report-path': 'reports/dead.json',
    });
    expect(result.exitCode).toBe(1);
    const report = await readFile(join(cwd, 'reports/dead.json'), 'utf8').catch(() => '');
    expect(leaks('report', report)).toEqual([]);
    expect(printed(result) + report).toContain(`127.0.0.1:${deadPort}`);
  });

  it('notify-slack with a token, a webhook and a failing Slack sends and prints no secret', async () => {
    const report = 'reports/live.json';
    const token = await run('notify-slack', cwd, {
      token: sandbox.slack.token,
      channel: '#deploys',
      status: 'failure',
      app: 'vault',
      report,
      'prometheus-url': promUrl,
    });
    expect(token.exitCode, token.log).toBe(0);
    expect(token.outputs.ok).toBe('true');
    const webhook = await run('notify-slack', cwd, {
      'webhook-url': sandbox.slack.webhookUrl,
      status: 'success',
      app: 'vault',
      report,
    });
    expect(webhook.exitCode, webhook.log).toBe(0);
    expect(webhook.outputs.ok).toBe('true');
    const removeFault = sandbox.faults.add({ target: 'slack', status: 500 });
    try {
      const failing = await run('notify-slack', cwd, {
        token: sandbox.slack.token,
        channel: '#deploys',
        status: 'failure',
        app: 'vault',
        timeout: '2s',
      });
      expect(failing.exitCode, failing.log).toBe(0);
      expect(failing.outputs.ok).toBe('false');
      expect(failing.warnings).not.toEqual([]);
    } finally {
      removeFault();
    }
    expect(sandbox.slack.messages.length).toBeGreaterThanOrEqual(2);
    expect(leaks('Slack messages', JSON.stringify(sandbox.slack.messages))).toEqual([]);
  });
});

describe('what the runs left behind', () => {
  it('GitHub received no secret', () => {
    expect(sandbox.github.deployments.length).toBeGreaterThan(0);
    expect(leaks('GitHub deployments', JSON.stringify(sandbox.github.deployments))).toEqual([]);
  });

  it('no object in the cluster but the Secrets themselves holds a secret value', () => {
    const objects = RESOURCE_TYPES.filter((t) => t.kind !== 'Secret').flatMap(
      (t) => sandbox.store.list(t).items,
    );
    // The records and histories are among them: the check reads what rollback reads.
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'ConfigMap/cd-actions-history-vault',
        'ConfigMap/cd-actions-history-pay',
        'Deployment/vault',
      ]),
    );
    expect(
      live(sandbox, 'Deployment', 'shop', 'vault')?.metadata.annotations?.['cd-actions.dev/record'],
    ).toBeDefined();
    const found = objects.flatMap((o) => leaks(`${o.kind}/${o.metadata.name}`, JSON.stringify(o)));
    expect(found).toEqual([]);
  });
});
