/**
 * deploy-rolling end to end: the committed bundle, run as the runner runs it, against the
 * sandbox cluster with a token limited to the Role the README documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import {
  autoscaled,
  DEPLOYER_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  readyPodImages,
  serviceManifest,
  startTestSandbox,
  workspace,
  historyOf,
  type HistoryEntryView,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  kubeconfig = sandbox.kubeconfigFor(DEPLOYER_ROLE);
});
afterAll(async () => sandbox?.stop());

async function deploy(
  files: Record<string, string>,
  inputs: Record<string, string | undefined>,
  extra: Partial<Parameters<typeof runAction>[0]> = {},
): Promise<ActionResult> {
  return runAction({
    action: 'deploy-rolling',
    cwd: await workspace(files),
    inputs: { kubeconfig, namespace: 'shop', timeout: '60s', ...inputs },
    env: { GITHUB_API_URL: sandbox.github.url },
    timeoutMs: 90_000,
    ...extra,
  });
}

function record(name: string): Record<string, unknown> {
  const raw = live(sandbox, 'Deployment', 'shop', name)?.metadata.annotations?.['cd-actions.dev/record'];
  return JSON.parse(raw ?? '{}') as Record<string, unknown>;
}

function history(app: string): HistoryEntryView[] {
  return historyOf(sandbox, 'shop', app);
}

const app = (image: string, env: Record<string, string> = {}, name = 'web'): Record<string, string> => ({
  'k8s/app.yaml': `${deploymentManifest({ name, image, env })}---\n${serviceManifest(name)}`,
});

describe('deploy-rolling', () => {
  it('creates the app, records it in the cluster, and reports a GitHub deployment', async () => {
    const result = await deploy(app('ghcr.io/acme/web:1.0.0'), {
      manifests: 'k8s/*.yaml',
      environment: 'staging',
      'github-token': sandbox.github.token,
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.revision).toBe('1');
    expect(result.outputs['previous-revision']).toBe('');
    expect(JSON.parse(result.outputs.images!)).toEqual({ web: 'ghcr.io/acme/web:1.0.0' });
    expect(result.outputs['rolled-back']).toBe('false');
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill('ghcr.io/acme/web:1.0.0'));
    expect(record('web')).toMatchObject({
      strategy: 'rolling',
      phase: 'succeeded',
      app: 'web',
      runId: '4242',
    });
    expect(history('web')).toMatchObject([{ action: 'deploy', outcome: 'succeeded', revision: '1' }]);
    expect(live(sandbox, 'Lease', 'shop', 'cd-actions-lock-web')).toBeUndefined();
    expect(result.summary).toContain('✅ Rolled out: web in shop');
    expect(result.summary).toContain('| Service | web |');
    const [github] = sandbox.github.deployments;
    expect(github).toMatchObject({ environment: 'staging', sha: '3f786850e387550fdab836ed7e6dc881de23001b' });
    expect(github!.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(github!.statuses[1]!.log_url).toBe('https://github.com/acme/shop/actions/runs/4242');
    expect(result.log).not.toContain(sandbox.github.token);
    expect(result.leftovers).toEqual([]);
  });

  it('updates only images when no manifests are given', async () => {
    const result = await deploy({}, { images: 'web=ghcr.io/acme/web:2.0.0', deployment: 'web' });
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ revision: '2', 'previous-revision': '1', 'rolled-back': 'false' });
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill('ghcr.io/acme/web:2.0.0'));
    const rs = sandbox.store.list(kind('ReplicaSet'), 'shop').items;
    expect(
      rs.find((r) => imageOf(r) === 'ghcr.io/acme/web:2.0.0')?.metadata.annotations?.[
        'kubernetes.io/change-cause'
      ],
    ).toContain('cd-actions deploy-rolling acme/shop@3f78685 run 4242');
  });

  it('catches a crash-looping version at once and brings the previous revision back', async () => {
    const started = Date.now();
    const result = await deploy(app('ghcr.io/acme/web:3.0.0', { SANDBOX_CRASH: 'true' }), {
      manifests: 'k8s/app.yaml',
      timeout: '10m',
    });
    expect(result.exitCode).toBe(1);
    // Fail fast: decided from the pod, not the 10m timeout (a wide bound for a busy machine).
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(result.outputs['rolled-back']).toBe('true');
    expect(result.errors.join('\n')).toMatch(/CrashLoopBackOff|restarted/);
    expect(result.errors.join('\n')).toContain('web is serving revision 4 again (ghcr.io/acme/web:2.0.0)');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
    expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill('ghcr.io/acme/web:2.0.0'));
    expect(record('web')).toMatchObject({ phase: 'rolled-back' });
    expect(history('web').at(-1)).toMatchObject({
      outcome: 'rolled-back',
      images: { web: 'ghcr.io/acme/web:2.0.0' },
    });
    expect(result.summary).toContain('↩️ Failed and rolled back');
    expect(result.summary).toContain('Last events of the failing pod');
  });

  it('fails on ImagePullBackOff and rolls back', async () => {
    const result = await deploy({}, { images: 'web=ghcr.io/acme/does-not-exist:9', deployment: 'web' });
    expect(result.exitCode).toBe(1);
    expect(result.errors.join('\n')).toMatch(/ImagePullBackOff|ErrImagePull/);
    expect(result.outputs['rolled-back']).toBe('true');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
  });

  it('fails at once when Pod Security refuses the new pods, passes the warning on, and rolls back', async () => {
    const namespaces = kind('Namespace');
    const enforce = (level: string | undefined): void => {
      const ns = sandbox.store.get(namespaces, undefined, 'shop')!;
      const labels = { ...ns.metadata.labels };
      if (level) labels['pod-security.kubernetes.io/enforce'] = level;
      else delete labels['pod-security.kubernetes.io/enforce'];
      sandbox.store.update(namespaces, { ...ns, metadata: { ...ns.metadata, labels } });
    };
    enforce('restricted');
    try {
      const started = Date.now();
      const result = await deploy(app('ghcr.io/acme/web:6.0.0'), {
        manifests: 'k8s/app.yaml',
        timeout: '10m',
      });
      expect(result.exitCode).toBe(1);
      // Decided from the ReplicaFailure condition, not the 600 s progress deadline or the 10m
      // timeout (a wide bound for a busy machine).
      expect(Date.now() - started).toBeLessThan(120_000);
      const errors = result.errors.join('\n');
      expect(errors).toContain('ReplicaFailure: FailedCreate: pods "web-');
      expect(errors).toContain(
        'is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "web" must set securityContext.allowPrivilegeEscalation=false)',
      );
      expect(result.warnings.join('\n')).toContain(
        'Kubernetes API: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false',
      );
      expect(result.outputs['rolled-back']).toBe('true');
      expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
      expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill('ghcr.io/acme/web:2.0.0'));
    } finally {
      enforce(undefined);
    }
  });

  it('leaves the failed revision in place when auto-rollback is false, and still fails', async () => {
    const result = await deploy(app('ghcr.io/acme/other:1.0.0', { SANDBOX_NEVER_READY: 'true' }, 'other'), {
      manifests: 'k8s/app.yaml',
      timeout: '3s',
      'auto-rollback': 'false',
    });
    expect(result.exitCode).toBe(1);
    expect(result.outputs['rolled-back']).toBe('false');
    expect(result.errors.join('\n')).toContain('The changes were left in place, as asked for a failed run');
    expect(result.errors.join('\n')).toMatch(/Timed out/);
    expect(record('other')).toMatchObject({ phase: 'failed' });
  });

  it('shows a server-side dry run with a diff and changes nothing', async () => {
    const writes = sandbox.audit.writes().length;
    const result = await deploy(app('ghcr.io/acme/web:5.0.0'), {
      manifests: 'k8s/app.yaml',
      'dry-run': 'true',
    });
    expect(result.exitCode, result.log).toBe(0);
    expect(sandbox.audit.writes().length).toBe(writes);
    expect(result.summary).toContain('🧪 Dry run');
    expect(result.summary).toContain('-        - image: ghcr.io/acme/web:2.0.0');
    expect(result.summary).toContain('+        - image: ghcr.io/acme/web:5.0.0');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
  });

  it('refuses to run while another run holds the app lock, naming the holder', async () => {
    sandbox.store.create(kind('Lease'), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'cd-actions-lock-web',
        namespace: 'shop',
        annotations: {
          'cd-actions.dev/lock-holder': JSON.stringify({
            identity: 'acme/shop#999/1',
            repository: 'acme/shop',
            runId: '999',
            runUrl: 'https://github.com/acme/shop/actions/runs/999',
            since: '2026-11-27T01:00:00.000Z',
          }),
        },
      },
      spec: {
        holderIdentity: 'acme/shop#999/1',
        leaseDurationSeconds: 600,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });
    try {
      const result = await deploy({}, { images: 'web=ghcr.io/acme/web:6.0.0', deployment: 'web' });
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toContain(
        'acme/shop run 999 (https://github.com/acme/shop/actions/runs/999)',
      );
      expect(result.errors.join('\n')).toContain('since 2026-11-27T01:00:00.000Z');
      expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
    } finally {
      sandbox.store.delete(kind('Lease'), 'shop', 'cd-actions-lock-web');
    }
  });

  it('queues behind a run that holds the lock when lock-wait allows, then deploys', async () => {
    const lease = sandbox.store.create(kind('Lease'), {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'cd-actions-lock-web', namespace: 'shop' },
      spec: {
        holderIdentity: 'acme/shop#998/1',
        leaseDurationSeconds: 600,
        renewTime: new Date().toISOString().replace('Z', '000Z'),
      },
    });
    // The other run releases its lease a moment after ours has found it held (seen in the audit log).
    const since = sandbox.audit.entries.length;
    const release = setInterval(() => {
      const found = sandbox.audit.entries
        .slice(since)
        .some(
          (e) => e.user === 'deployer' && e.verb === 'get' && e.path.endsWith('/leases/cd-actions-lock-web'),
        );
      if (found) {
        clearInterval(release);
        setTimeout(() => sandbox.store.delete(kind('Lease'), 'shop', lease.metadata.name!), 500);
      }
    }, 20);
    try {
      const result = await deploy(
        {},
        { images: 'web=ghcr.io/acme/web:2.1.0', deployment: 'web', 'lock-wait': '30s' },
      );
      expect(result.exitCode, result.log).toBe(0);
      expect(result.log).toContain('Waiting up to 30 s for');
      expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.1.0');
    } finally {
      clearInterval(release);
    }
    // Back to 2.0.0 for the tests below, through the action itself.
    expect((await deploy({}, { images: 'web=ghcr.io/acme/web:2.0.0', deployment: 'web' })).exitCode).toBe(0);
  });

  it('rolls back when the run is cancelled mid-rollout', async () => {
    const result = await deploy(
      app('ghcr.io/acme/web:7.0.0', { SANDBOX_READY_AFTER: '20s' }),
      { manifests: 'k8s/app.yaml', timeout: '2m' },
      { cancelWhen: /web: .*updated/ },
    );
    expect(result.cancelled).toBe(true);
    expect(result.exitCode).not.toBe(0);
    expect(result.log).toContain('failed in phase rollout: the run was cancelled. Every change was put back');
    expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:2.0.0');
    expect(live(sandbox, 'Lease', 'shop', 'cd-actions-lock-web')).toBeUndefined();
  });

  it('never leaves a half-done rollout when cancelled at a random moment', async () => {
    const before = imageOf(live(sandbox, 'Deployment', 'shop', 'web'));
    const cancelAfterMs = 200 + Math.floor(Math.random() * 2500);
    const result = await deploy(
      app('ghcr.io/acme/web:7.5.0', { SANDBOX_READY_AFTER: '300ms' }),
      { manifests: 'k8s/app.yaml', timeout: '2m' },
      { cancelAfterMs },
    );
    const image = imageOf(live(sandbox, 'Deployment', 'shop', 'web'));
    const ready = readyPodImages(sandbox, 'shop', 'web');
    if (result.exitCode === 0) {
      // Finished before the cancel arrived: the new version serves, fully.
      expect(image, `cancel after ${cancelAfterMs} ms`).toBe('ghcr.io/acme/web:7.5.0');
      expect(ready).toEqual(Array(3).fill('ghcr.io/acme/web:7.5.0'));
      // Put the earlier version back for the tests below.
      expect((await deploy({}, { images: `web=${before}`, deployment: 'web' })).exitCode).toBe(0);
    } else {
      expect(image, `cancel after ${cancelAfterMs} ms`).toBe(before);
      expect(ready).toEqual(Array(3).fill(before));
    }
    expect(live(sandbox, 'Lease', 'shop', 'cd-actions-lock-web')).toBeUndefined();
  });

  it('rides out API faults: 503s, 429 with Retry-After and dropped watches', async () => {
    const removers = [
      sandbox.faults.add({
        target: 'api',
        match: { verb: 'get', path: '/deployments/web' },
        status: 503,
        times: 2,
      }),
      sandbox.faults.add({
        target: 'api',
        match: { verb: 'list', path: '/replicasets' },
        status: 429,
        retryAfterSeconds: 1,
        times: 1,
      }),
      sandbox.faults.add({ target: 'api', match: { verb: 'watch' }, dropWatchAfterMs: 150, times: 6 }),
    ];
    try {
      const result = await deploy({}, { images: 'web=ghcr.io/acme/web:8.0.0', deployment: 'web' });
      expect(result.exitCode, result.log).toBe(0);
      expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(3).fill('ghcr.io/acme/web:8.0.0'));
      expect(sandbox.audit.entries.some((e) => e.status === 503)).toBe(true);
      expect(sandbox.audit.entries.some((e) => e.status === 429)).toBe(true);
    } finally {
      for (const remove of removers) remove();
    }
  });

  it('fails and restores the previous template when it can no longer watch the rollout', async () => {
    const before = imageOf(live(sandbox, 'Deployment', 'shop', 'web'));
    const remove = sandbox.faults.add({ target: 'api', match: { verb: 'watch' }, status: 500 });
    try {
      const result = await deploy(
        {},
        { images: 'web=ghcr.io/acme/web:8.5.0', deployment: 'web', timeout: '4s' },
      );
      expect(result.exitCode).toBe(1);
      // The watch gives up after a few failures: the rollout is not confirmed, so the earlier template goes back.
      // The restore is a write, which works; whether its rollout is confirmed (by a list) in the 4s, the message says.
      expect(result.errors.join('\n')).toMatch(
        /failed in phase rollout: could not follow the rollout of web: Could not watch (deployment|pods of) shop\/web/,
      );
      expect(result.errors.join('\n')).toMatch(
        /Every change was put back|Putting back was incomplete: could not roll Deployment web back/,
      );
      expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe(before);
    } finally {
      remove();
    }
  });

  it('ends in a safe failure, never a success, when the API keeps failing writes', async () => {
    const remove = sandbox.faults.add({
      target: 'api',
      match: { verb: 'patch', path: '/deployments/web' },
      status: 500,
    });
    try {
      const result = await deploy({}, { images: 'web=ghcr.io/acme/web:9.0.0', deployment: 'web' });
      expect(result.exitCode).toBe(1);
      expect(result.errors.join('\n')).toMatch(/deployments.apps shop\/web failed: 500/);
      expect(imageOf(live(sandbox, 'Deployment', 'shop', 'web'))).toBe('ghcr.io/acme/web:8.0.0');
    } finally {
      remove();
    }
  });

  it('keeps the replica count a HorizontalPodAutoscaler set, whatever the manifest says', async () => {
    // Under load, the HPA has scaled web from 3 to 5.
    const removeHpa = autoscaled(sandbox, 'web', 'web', 5);
    try {
      const result = await deploy(app('ghcr.io/acme/web:10.0.0'), { manifests: 'k8s/app.yaml' });
      expect(result.exitCode, result.log).toBe(0);
      expect(result.log).toContain(
        'web: replicas stay at 5, set by HorizontalPodAutoscaler web (the manifest says 3)',
      );
      expect((live(sandbox, 'Deployment', 'shop', 'web')?.spec as { replicas: number }).replicas).toBe(5);
      expect(readyPodImages(sandbox, 'shop', 'web')).toEqual(Array(5).fill('ghcr.io/acme/web:10.0.0'));
    } finally {
      removeHpa();
    }
  });
});
