/**
 * deploy-blue-green end to end: the committed bundle, run as the runner runs it, against the
 * sandbox cluster under steady load, with a token limited to the Role the README documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import { parse } from 'yaml';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  autoscaled,
  BLUE_GREEN_ROLE,
  kind,
  deploymentManifest,
  imageOf,
  live,
  serviceManifest,
  startTestSandbox,
  workspace,
  historyOf,
  type HistoryEntryView,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;

beforeAll(async () => {
  sandbox = await startTestSandbox({ rps: 50 });
  kubeconfig = sandbox.kubeconfigFor(BLUE_GREEN_ROLE);
});
afterAll(async () => sandbox?.stop());

const app = (image: string, env: Record<string, string> = {}): Record<string, string> => ({
  'k8s/app.yaml': `${deploymentManifest({ image, env, replicas: 2 })}---\n${serviceManifest()}`,
});

async function deploy(
  files: Record<string, string>,
  inputs: Record<string, string | undefined>,
  extra: Partial<Parameters<typeof runAction>[0]> = {},
): Promise<ActionResult> {
  return runAction({
    action: 'deploy-blue-green',
    cwd: await workspace(files),
    inputs: {
      kubeconfig,
      namespace: 'shop',
      manifests: 'k8s/app.yaml',
      timeout: '30s',
      'pre-switch-duration': '1s',
      'verify-duration': '2s',
      'check-interval': '250ms',
      ...inputs,
    },
    env: { GITHUB_API_URL: sandbox.github.url },
    timeoutMs: 60_000,
    ...extra,
  });
}

function selectedColor(): string | undefined {
  return (live(sandbox, 'Service', 'shop', 'web') as { spec?: { selector?: Record<string, string> } })?.spec
    ?.selector?.version;
}

function record(): Record<string, unknown> {
  const raw = live(sandbox, 'Service', 'shop', 'web')?.metadata.annotations?.['cd-actions.dev/record'];
  return JSON.parse(raw ?? '{}') as Record<string, unknown>;
}

function history(): HistoryEntryView[] {
  return historyOf(sandbox, 'shop', 'web');
}

/** Requests the load generator saw fail through the live Service, outside versions meant to fail. */
function failedBySwitch(allowed: string[] = []): number {
  const stats = sandbox.cluster.traffic.stats('shop', 'web');
  return Object.entries(stats)
    .filter(([version]) => !allowed.includes(version))
    .reduce((sum, [version, s]) => sum + s.errors + (version === 'none' ? s.requests : 0), 0);
}

/** Every request through the Service answered without a 5xx or a missing route; the stats, for more checks. */
function expectNoFailedRequests(service: string): ReturnType<typeof sandbox.cluster.traffic.stats> {
  const stats = sandbox.cluster.traffic.stats('shop', service);
  expect(
    Object.values(stats).reduce((n, s) => n + s.errors, 0),
    JSON.stringify(stats),
  ).toBe(0);
  expect(stats.none).toBeUndefined();
  return stats;
}

async function rollbackApp(app: string): Promise<ActionResult> {
  return runAction({
    action: 'rollback',
    cwd: await workspace({}),
    inputs: { kubeconfig, namespace: 'shop', app, reason: 'bad release' },
    timeoutMs: 60_000,
  });
}

const postSwitch = (color: string): string =>
  `- { kind: http, name: live-serves-new, via: service-proxy, service: web, path: /, json-path: $.version, equals: ${color}, critical: true }`;
const preSwitch =
  '- { kind: pods, deployment: "${deployment}" }\n- { kind: http, name: preview, via: service-proxy, service: web-preview, path: /, critical: true }';

describe('deploy-blue-green (service selector)', () => {
  it('first deploy: brings up blue and creates the live Service selecting it', async () => {
    const result = await deploy(app('ghcr.io/acme/web:1.0.0'), {
      environment: 'staging',
      'github-token': sandbox.github.token,
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(sandbox.github.deployments[0]?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(result.log).not.toContain(sandbox.github.token);
    expect(result.outputs).toMatchObject({
      'active-color': 'blue',
      switched: 'true',
      'rolled-back': 'false',
    });
    expect(selectedColor()).toBe('blue');
    expect(record()).toMatchObject({ strategy: 'blue-green', phase: 'succeeded', stable: { color: 'blue' } });
    expect(result.leftovers).toEqual([]);
  });

  it('a healthy switch: green deployed, checked through the preview, switched in one write, no failed request', async () => {
    sandbox.cluster.traffic.reset();
    const writesBefore = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await deploy(app('ghcr.io/acme/web:2.0.0'), {
      'preview-service': 'web-preview',
      'pre-switch-checks': preSwitch,
      'post-switch-checks': postSwitch('green'),
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      'previous-color': 'blue',
      switched: 'true',
      'rolled-back': 'false',
      revision: '1',
      'preview-url': 'http://web-preview.shop.svc.cluster.local',
    });
    expect(selectedColor()).toBe('green');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web-green'))).toBe('ghcr.io/acme/web:2.0.0');
    // The previous colour stays up for an instant switch back (keep-previous true by default).
    const blue = live(sandbox, 'Deployment', 'shop', 'web-blue') as
      { spec?: { replicas?: number } } | undefined;
    expect(blue?.spec?.replicas).toBe(2);
    expect(result.log).toContain('web-blue stays scaled up for an instant rollback');
    // Exactly one write to the live Service besides the record annotation: the switch itself.
    const serviceWrites = sandbox.audit
      .writes({ succeededOnly: true })
      .slice(writesBefore)
      .filter(
        (w) => JSON.stringify(w).includes('/services/web') && !JSON.stringify(w).includes('web-preview'),
      );
    expect(serviceWrites.filter((w) => JSON.stringify(w).includes('PUT'))).toHaveLength(1);
    const stats = sandbox.cluster.traffic.stats('shop', 'web');
    expect(stats.green?.requests ?? 0).toBeGreaterThan(0);
    expect(failedBySwitch(), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
    expect(record()).toMatchObject({ phase: 'succeeded', stable: { color: 'green' } });
    expect(history().at(-1)).toMatchObject({ strategy: 'blue-green', outcome: 'succeeded', to: 'green' });
    expect(result.summary).toContain('✅ Switched to green');
    expect(result.summary).toContain('pre-switch checks');
    expect(result.summary).toContain('post-switch checks');
  });

  it('a colour that never gets ready: no switch, traffic untouched', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(app('ghcr.io/acme/web:3.0.0', { SANDBOX_NEVER_READY: 'true' }), {
      timeout: '3s',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      switched: 'false',
      'rolled-back': 'false',
    });
    expect(result.errors.join('\n')).toContain('web-blue did not become ready');
    expect(result.errors.join('\n')).toContain('failed in phase rollout');
    expect(result.errors.join('\n')).toContain('Nothing that serves traffic had changed');
    expect(result.errors.join('\n')).toContain('Traffic: green serves all traffic');
    expect(selectedColor()).toBe('green');
    expect(failedBySwitch(), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
    expect(record()).toMatchObject({ phase: 'failed', stable: { color: 'green' } });
  });

  it('a colour that fails its pre-switch checks: no switch', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(app('ghcr.io/acme/web:4.0.0', { SANDBOX_ERROR_RATE: '1' }), {
      'preview-service': 'web-preview',
      'pre-switch-checks': preSwitch,
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({ 'active-color': 'green', switched: 'false' });
    expect(result.errors.join('\n')).toContain('pre-switch checks did not pass');
    expect(selectedColor()).toBe('green');
    expect(failedBySwitch(), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
    expect(result.summary).toContain('pre-switch checks');
  });

  it('a colour that fails after the switch: switched back in one write, no request failed by the switch', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(app('ghcr.io/acme/web:5.0.0', { SANDBOX_ERROR_RATE: '1' }), {
      'post-switch-checks':
        postSwitch('blue') +
        '\n- { kind: http, name: live-ok, via: service-proxy, service: web, path: /, critical: true }',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      'previous-color': 'green',
      switched: 'true',
      'rolled-back': 'true',
    });
    expect(result.errors.join('\n')).toContain('post-switch checks did not pass');
    expect(result.errors.join('\n')).toContain(
      'Every change was put back. Traffic: green serves all traffic',
    );
    expect(selectedColor()).toBe('green');
    // Only the failing version's own errors (its configured 100% error rate) show.
    expect(failedBySwitch(['blue']), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
    expect(record()).toMatchObject({ phase: 'rolled-back' });
    expect(result.summary).toContain('↩️ Failed and switched back to green');
  });

  it('a run cancelled while the idle colour rolls out: no switch, traffic untouched', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(
      app('ghcr.io/acme/web:6.0.0', { SANDBOX_READY_AFTER: '1s' }),
      {},
      {
        cancelWhen: /web-blue (created|updated)/,
      },
    );
    expect(result.cancelled).toBe(true);
    expect(result.exitCode).not.toBe(0);
    expect(result.outputs).toMatchObject({ 'active-color': 'green', switched: 'false' });
    expect(result.errors.join('\n')).toContain('failed in phase rollout: the run was cancelled');
    expect(selectedColor()).toBe('green');
    expect(failedBySwitch(), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
    expect(record()).toMatchObject({ phase: 'cancelled' });
  });

  it('a dry run validates on the server and changes nothing', async () => {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await deploy(app('ghcr.io/acme/web:8.0.0'), { 'dry-run': 'true' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.summary).toContain('Dry run passed: would deploy web-blue and switch Service shop/web');
    expect(result.outputs).toMatchObject({ 'active-color': 'green', switched: 'false' });
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
  });

  it('a run cancelled during the pre-switch checks: no switch, traffic untouched', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(
      app('ghcr.io/acme/web:6.5.0'),
      { 'pre-switch-checks': preSwitch.split('\n')[0]!, 'pre-switch-duration': '30s' },
      { cancelWhen: /pre-switch checks: pods-/ },
    );
    expect(result.cancelled).toBe(true);
    expect(result.exitCode).not.toBe(0);
    expect(result.outputs).toMatchObject({ 'active-color': 'green', switched: 'false' });
    expect(result.errors.join('\n')).toContain('failed in phase pre-switch: the run was cancelled');
    expect(selectedColor()).toBe('green');
    expect(failedBySwitch(), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
  });

  it('a run cancelled during the post-switch checks: switched back to the previous colour', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(
      app('ghcr.io/acme/web:7.0.0'),
      { 'post-switch-checks': postSwitch('blue'), 'verify-duration': '30s' },
      { cancelWhen: /post-switch checks: live-serves-new/ },
    );
    expect(result.cancelled).toBe(true);
    expect(result.exitCode).not.toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      switched: 'true',
      'rolled-back': 'true',
    });
    expect(result.errors.join('\n')).toContain('failed in phase post-switch: the run was cancelled');
    expect(selectedColor()).toBe('green');
    expect(failedBySwitch(), JSON.stringify(sandbox.cluster.traffic.stats('shop', 'web'))).toBe(0);
  });
});

describe('deploy-blue-green adoption', () => {
  const legacy = (image: string): Record<string, string> => ({
    'k8s/app.yaml': `${deploymentManifest({ name: 'legacy', image, replicas: 2 })}---\n${serviceManifest('legacy')}`,
  });
  const selector = (): Record<string, string> | undefined =>
    (live(sandbox, 'Service', 'shop', 'legacy') as { spec?: { selector?: Record<string, string> } })?.spec
      ?.selector;

  it('adopts a plain Deployment and Service without downtime, then switches to green', async () => {
    sandbox.store.create(
      kind('Deployment'),
      parse(deploymentManifest({ name: 'legacy', namespace: 'shop', replicas: 2 })) as KubeObject,
    );
    const service = parse(serviceManifest('legacy')) as KubeObject;
    sandbox.store.create(kind('Service'), { ...service, metadata: { name: 'legacy', namespace: 'shop' } });
    // Steady traffic through the plain Service before the adoption starts.
    await waitFor(() =>
      Object.values(sandbox.cluster.traffic.stats('shop', 'legacy')).reduce((n, s) => n + s.requests, 0),
    );
    sandbox.cluster.traffic.reset();
    const result = await deploy(legacy('ghcr.io/acme/legacy:2.0.0'), { app: 'legacy' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'green',
      'previous-color': 'blue',
      switched: 'true',
    });
    expect(selector()).toEqual({ app: 'legacy', version: 'green' });
    // The immutable selector of the adopted Deployment is untouched; its pods carry the colour.
    const adopted = live(sandbox, 'Deployment', 'shop', 'legacy') as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        template: { metadata: { labels: Record<string, string> } };
      };
    };
    expect(adopted.spec.selector.matchLabels).toEqual({ app: 'legacy' });
    expect(adopted.spec.template.metadata.labels).toMatchObject({ version: 'blue' });
    const stats = expectNoFailedRequests('legacy');
    expect(stats.green?.requests ?? 0).toBeGreaterThan(0);
  });

  it('the next deploy moves blue to legacy-blue and retires the adopted Deployment', async () => {
    sandbox.cluster.traffic.reset();
    const result = await deploy(legacy('ghcr.io/acme/legacy:3.0.0'), { app: 'legacy' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ 'active-color': 'blue', 'previous-color': 'green' });
    expect(selector()).toEqual({ app: 'legacy', version: 'blue' });
    expect(
      (live(sandbox, 'Deployment', 'shop', 'legacy') as { spec?: { replicas?: number } }).spec?.replicas,
    ).toBe(0);
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'legacy-blue'))).toBe('ghcr.io/acme/legacy:3.0.0');
    expectNoFailedRequests('legacy');
  });
});

describe('rollback of a blue-green app', () => {
  const legacySelector = (): string | undefined =>
    (live(sandbox, 'Service', 'shop', 'legacy') as { spec?: { selector?: Record<string, string> } })?.spec
      ?.selector?.version;
  const rollback = (): Promise<ActionResult> => rollbackApp('legacy');

  it('switches back at once to a warm previous colour', async () => {
    sandbox.cluster.traffic.reset();
    const result = await rollback();
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs['active-color']).toBe('green');
    expect(result.log).toContain('is warm: switching at once');
    expect(legacySelector()).toBe('green');
    expectNoFailedRequests('legacy');
  });

  it('scales a scaled-down previous colour up first, then switches', async () => {
    const deployed = await deploy(
      {
        'k8s/app.yaml': `${deploymentManifest({ name: 'legacy', image: 'ghcr.io/acme/legacy:4.0.0', replicas: 2 })}---\n${serviceManifest('legacy')}`,
      },
      { app: 'legacy', 'keep-previous': 'false', 'scale-down-delay': '3s' },
    );
    expect(deployed.exitCode, deployed.log).toBe(0);
    expect(deployed.log).toContain('3s after the switch, once every node has stopped sending to it');
    expect(legacySelector()).toBe('blue');
    expect(
      (live(sandbox, 'Deployment', 'shop', 'legacy-green') as { spec?: { replicas?: number } }).spec
        ?.replicas,
    ).toBe(0);
    sandbox.cluster.traffic.reset();
    const result = await rollback();
    expect(result.exitCode, result.log).toBe(0);
    expect(result.log).toContain('is not warm: scaling it to 2 replica(s) first');
    expect(result.outputs['active-color']).toBe('green');
    expect(legacySelector()).toBe('green');
    expect(
      (live(sandbox, 'Deployment', 'shop', 'legacy-green') as { spec?: { replicas?: number } }).spec
        ?.replicas,
    ).toBe(2);
    expectNoFailedRequests('legacy');
  });
});

describe('blue-green with a HorizontalPodAutoscaler', () => {
  const files = (image: string): Record<string, string> => ({
    'k8s/app.yaml': `${deploymentManifest({ name: 'auto', image, replicas: 2 })}---\n${serviceManifest('auto')}`,
  });
  const hpaTarget = (): string | undefined =>
    (live(sandbox, 'HorizontalPodAutoscaler', 'shop', 'auto')?.spec as { scaleTargetRef?: { name?: string } })
      ?.scaleTargetRef?.name;
  const replicasOf = (name: string): number | undefined =>
    (live(sandbox, 'Deployment', 'shop', name)?.spec as { replicas?: number } | undefined)?.replicas;

  it('starts the new colour as big as the autoscaled live one, and the HPA follows the traffic', async () => {
    const first = await deploy(files('ghcr.io/acme/auto:1.0.0'), { app: 'auto', service: 'auto' });
    expect(first.exitCode, first.log).toBe(0);
    // Under load, the HPA has scaled the live colour from 2 to 4.
    autoscaled(sandbox, 'auto', 'auto-blue', 4);

    const result = await deploy(files('ghcr.io/acme/auto:2.0.0'), { app: 'auto', service: 'auto' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.log).toContain(
      'auto-green starts with 4 replicas, as many as blue has under HorizontalPodAutoscaler auto (the manifest says 2)',
    );
    expect(replicasOf('auto-green')).toBe(4);
    expect(result.log).toContain('HorizontalPodAutoscaler auto now scales auto-green');
    expect(hpaTarget()).toBe('auto-green');

    const back = await rollbackApp('auto');
    expect(back.exitCode, back.log).toBe(0);
    expect(back.outputs['active-color']).toBe('blue');
    expect(hpaTarget()).toBe('auto-blue');
  });
});

async function waitFor(probe: () => number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (probe() === 0) {
    if (Date.now() > deadline) throw new Error('timed out waiting for traffic');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
