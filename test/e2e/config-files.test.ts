/**
 * config-files end to end: the committed bundles of deploy-rolling, rollback and deploy-blue-green
 * against the sandbox, with the Roles the READMEs document. Config rolls out with its revision,
 * comes back with a rollback, is collected beyond the revision history, and bad input changes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction, type ActionResult } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  BLUE_GREEN_ROLE,
  CANARY_ROLE,
  DEPLOYER_ROLE,
  deploymentManifest,
  imageOf,
  kind,
  live,
  readyPodImages,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startTestSandbox();
});
afterAll(async () => sandbox?.stop());

interface PodTemplateView {
  volumes?: { name: string; configMap?: { name: string } }[];
  containers: { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
}

function podSpec(object: KubeObject | undefined): PodTemplateView | undefined {
  return (object as { spec?: { template?: { spec?: PodTemplateView } } } | undefined)?.spec?.template?.spec;
}

/** The ConfigMap a Deployment's (or ReplicaSet's) template mounts as the config volume. */
function mountedConfig(object: KubeObject | undefined): string | undefined {
  return podSpec(object)?.volumes?.find((v) => v.name === 'cd-actions-config')?.configMap?.name;
}

interface ConfigMapView extends KubeObject {
  immutable?: boolean;
  data?: Record<string, string>;
}

/** The app's config ConfigMaps in the cluster, by name. */
function configsOf(app: string): Map<string, ConfigMapView> {
  return new Map(
    sandbox.store
      .list(kind('ConfigMap'), 'shop')
      .items.filter((cm) => cm.metadata.labels?.['cd-actions.dev/config-of'] === app)
      .map((cm) => [cm.metadata.name!, cm as ConfigMapView]),
  );
}

/** The ConfigMaps the Deployment and its ReplicaSets (its revisions) mount. */
function referencedBy(deployment: string): Set<string> {
  const owner = live(sandbox, 'Deployment', 'shop', deployment);
  const replicaSets = sandbox.store
    .list(kind('ReplicaSet'), 'shop')
    .items.filter((rs) => rs.metadata.ownerReferences?.some((ref) => ref.uid === owner?.metadata.uid));
  // A pod still terminating mounts its config too, so the action keeps it until the pod is gone.
  const pods = sandbox.store
    .list(kind('Pod'), 'shop')
    .items.filter((pod) => pod.metadata.labels?.app === deployment)
    .map(
      (pod) =>
        (pod as { spec?: PodTemplateView }).spec?.volumes?.find((v) => v.name === 'cd-actions-config')
          ?.configMap?.name,
    );
  return new Set(
    [...[owner, ...replicaSets].map(mountedConfig), ...pods].filter(
      (name): name is string => name !== undefined,
    ),
  );
}

/** Waits until none of the app's pods is terminating: deploys minutes apart, as in a pipeline. */
async function podsSettled(app: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  const terminating = (): number =>
    sandbox.store
      .list(kind('Pod'), 'shop')
      .items.filter((pod) => pod.metadata.labels?.app === app && pod.metadata.deletionTimestamp).length;
  while (terminating() > 0) {
    if (Date.now() > deadline) throw new Error(`pods of ${app} still terminating after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const CONFIG_A = 'apiUrl: https://api.staging.example.com\nlogLevel: info\nfeatures:\n  newCheckout: false\n';
const CONFIG_B = 'apiUrl: https://api.staging.example.com\nlogLevel: debug\nfeatures:\n  newCheckout: true\n';

describe('deploy-rolling with config-files', () => {
  const kubeconfig = (): string => sandbox.kubeconfigFor(DEPLOYER_ROLE);

  async function deploy(
    config: string,
    inputs: Record<string, string> = {},
    manifest = deploymentManifest({ name: 'cfg', image: 'ghcr.io/acme/web:1.0.0', replicas: 2 }),
  ): Promise<ActionResult> {
    return runAction({
      action: 'deploy-rolling',
      cwd: await workspace({ 'k8s/app.yaml': manifest, 'config/staging.yaml': config }),
      inputs: {
        kubeconfig: kubeconfig(),
        namespace: 'shop',
        timeout: '60s',
        manifests: 'k8s/app.yaml',
        // As a workflow writes it: config/${{ inputs.environment }}.yaml
        'config-files': 'config/staging.yaml',
        ...inputs,
      },
      timeoutMs: 90_000,
    });
  }

  let configA: string;
  let configB: string;

  it('creates an immutable ConfigMap named by its content and mounts it read-only', async () => {
    const result = await deploy(CONFIG_A);
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.revision).toBe('1');
    const configs = configsOf('cfg');
    expect(configs.size).toBe(1);
    const [name, cm] = [...configs][0]!;
    expect(name).toMatch(/^cfg-config-[0-9a-f]{10}$/);
    expect(cm.immutable).toBe(true);
    expect(cm.data).toEqual({ 'staging.yaml': CONFIG_A });
    expect(cm.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'cd-actions' });
    const deployment = live(sandbox, 'Deployment', 'shop', 'cfg');
    expect(mountedConfig(deployment)).toBe(name);
    expect(podSpec(deployment)!.containers[0]!.volumeMounts).toEqual([
      { name: 'cd-actions-config', mountPath: '/etc/app-config', readOnly: true },
    ]);
    expect(readyPodImages(sandbox, 'shop', 'cfg')).toEqual(Array(2).fill('ghcr.io/acme/web:1.0.0'));
    expect(result.log).toContain(`ConfigMap ${name} created`);
    configA = name;
  });

  it('rolls a config change out as a new revision of the same image, keeping the old config', async () => {
    const result = await deploy(CONFIG_B);
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({ revision: '2', 'previous-revision': '1' });
    const deployment = live(sandbox, 'Deployment', 'shop', 'cfg');
    expect(imageOf(deployment)).toBe('ghcr.io/acme/web:1.0.0');
    configB = mountedConfig(deployment)!;
    expect(configB).toMatch(/^cfg-config-[0-9a-f]{10}$/);
    expect(configB).not.toBe(configA);
    expect(configsOf('cfg').get(configB)!.data).toEqual({ 'staging.yaml': CONFIG_B });
    // Revision 1's ReplicaSet still mounts A, so A stays for a rollback.
    expect(referencedBy('cfg')).toEqual(new Set([configA, configB]));
    expect([...configsOf('cfg').keys()].sort()).toEqual([configA, configB].sort());
  });

  it('leaves the same content alone: no new ConfigMap, no new revision', async () => {
    const before = configsOf('cfg').get(configB)!.metadata.resourceVersion;
    const result = await deploy(CONFIG_B);
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs.revision).toBe('2');
    expect(result.log).toContain(`ConfigMap ${configB} unchanged`);
    expect(configsOf('cfg').get(configB)!.metadata.resourceVersion).toBe(before);
    expect(configsOf('cfg').size).toBe(2);
  });

  it('rollback brings back the config that went with the revision', async () => {
    const result = await runAction({
      action: 'rollback',
      inputs: { kubeconfig: kubeconfig(), namespace: 'shop', app: 'cfg', reason: 'config B broke checkout' },
      timeoutMs: 60_000,
    });
    expect(result.exitCode, result.log).toBe(0);
    const deployment = live(sandbox, 'Deployment', 'shop', 'cfg');
    expect(mountedConfig(deployment)).toBe(configA);
    expect(configsOf('cfg').get(configA)!.data).toEqual({ 'staging.yaml': CONFIG_A });
    expect(readyPodImages(sandbox, 'shop', 'cfg')).toEqual(Array(2).fill('ghcr.io/acme/web:1.0.0'));
  });

  it('a failed deploy leaves no new ConfigMap behind', async () => {
    const before = new Set(configsOf('cfg').keys());
    const crashing = deploymentManifest({
      name: 'cfg',
      image: 'ghcr.io/acme/web:1.0.0',
      replicas: 2,
      env: { SANDBOX_CRASH: 'true' },
    });
    const result = await deploy('logLevel: trace\n', {}, crashing);
    expect(result.exitCode).toBe(1);
    expect(result.outputs['rolled-back']).toBe('true');
    expect(result.log).toMatch(
      /undo: delete ConfigMap shop\/cfg-config-[0-9a-f]{10}, which this run created/,
    );
    expect(new Set(configsOf('cfg').keys())).toEqual(before);
    expect(mountedConfig(live(sandbox, 'Deployment', 'shop', 'cfg'))).toBe(configA);
  });

  it('rolls out config alone to a live Deployment (no manifests, no images), moving its mount', async () => {
    const result = await runAction({
      action: 'deploy-rolling',
      cwd: await workspace({ 'config/staging.yaml': CONFIG_B }),
      inputs: {
        kubeconfig: kubeconfig(),
        namespace: 'shop',
        deployment: 'cfg',
        'config-files': 'config/staging.yaml',
        'config-mount-path': '/srv/app-config',
      },
      timeoutMs: 90_000,
    });
    expect(result.exitCode, result.log).toBe(0);
    const deployment = live(sandbox, 'Deployment', 'shop', 'cfg');
    // B's content, so B's name: the existing ConfigMap is mounted again, at the new path only.
    expect(mountedConfig(deployment)).toBe(configB);
    expect(podSpec(deployment)!.volumes!.filter((v) => v.name === 'cd-actions-config')).toHaveLength(1);
    expect(podSpec(deployment)!.containers[0]!.volumeMounts).toEqual([
      { name: 'cd-actions-config', mountPath: '/srv/app-config', readOnly: true },
    ]);
    expect(imageOf(deployment)).toBe('ghcr.io/acme/web:1.0.0');
    expect(readyPodImages(sandbox, 'shop', 'cfg')).toEqual(Array(2).fill('ghcr.io/acme/web:1.0.0'));
    expect(result.log).toContain(`config ${configB} at /srv/app-config`);
  });

  it('collects configs beyond the revision history and keeps every one a revision mounts', async () => {
    const limited = (image: string): string =>
      deploymentManifest({ name: 'hist', image, replicas: 1 }).replace(
        'progressDeadlineSeconds',
        'revisionHistoryLimit: 1\n  progressDeadlineSeconds',
      );
    const mounted: string[] = [];
    for (const n of [1, 2, 3, 4]) {
      await podsSettled('hist');
      const result = await runAction({
        action: 'deploy-rolling',
        cwd: await workspace({
          'k8s/app.yaml': limited('ghcr.io/acme/web:1.0.0'),
          'config/app.yaml': `n: ${n}\n`,
        }),
        inputs: {
          kubeconfig: kubeconfig(),
          namespace: 'shop',
          timeout: '60s',
          manifests: 'k8s/app.yaml',
          'config-files': 'config/*.yaml',
          'config-mount-path': '/srv/config',
        },
        timeoutMs: 90_000,
      });
      expect(result.exitCode, result.log).toBe(0);
      mounted.push(mountedConfig(live(sandbox, 'Deployment', 'shop', 'hist'))!);
      // Whatever a revision mounts is there; whatever none mounts is gone.
      expect(new Set(configsOf('hist').keys())).toEqual(referencedBy('hist'));
    }
    expect(new Set(mounted).size).toBe(4);
    // revisionHistoryLimit 1: the serving revision and one before it.
    expect([...configsOf('hist').keys()].sort()).toEqual([mounted[2]!, mounted[3]!].sort());
    expect(podSpec(live(sandbox, 'Deployment', 'shop', 'hist'))!.containers[0]!.volumeMounts).toEqual([
      { name: 'cd-actions-config', mountPath: '/srv/config', readOnly: true },
    ]);
  });

  it.each([
    [
      'a path outside the workspace',
      { 'config-files': '../secrets.yaml' },
      'the path leads out of the workspace',
    ],
    [
      'a missing file',
      { 'config-files': 'config/production.yaml' },
      'cannot read "config/production.yaml" (no such file)',
    ],
    ['a glob that matches nothing', { 'config-files': 'config/*.json' }, '"config/*.json" matches no file'],
    ['a mount path that is not absolute', { 'config-mount-path': 'etc/app-config' }, 'an absolute path'],
  ])('refuses %s before any write', async (_title, inputs, mention) => {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const configs = configsOf('bad').size;
    const result = await runAction({
      action: 'deploy-rolling',
      cwd: await workspace({
        'k8s/app.yaml': deploymentManifest({ name: 'bad', replicas: 1 }),
        'config/staging.yaml': CONFIG_A,
      }),
      inputs: {
        kubeconfig: kubeconfig(),
        namespace: 'shop',
        manifests: 'k8s/app.yaml',
        'config-files': 'config/staging.yaml',
        ...inputs,
      },
      timeoutMs: 60_000,
    });
    expect(result.exitCode).toBe(1);
    const message = result.errors.join('\n');
    const input = Object.keys(inputs)[0]!;
    expect(message).toContain(`Input "${input}"`);
    expect(message).toContain(mention);
    expect(message).toContain('expected');
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
    expect(configsOf('bad').size).toBe(configs);
    expect(live(sandbox, 'Deployment', 'shop', 'bad')).toBeUndefined();
  });
});

describe('rollback to a revision whose config is gone', () => {
  it('is refused before any write', async () => {
    const kubeconfig = sandbox.kubeconfigFor(DEPLOYER_ROLE);
    for (const config of ['a: 1\n', 'a: 2\n']) {
      const result = await runAction({
        action: 'deploy-rolling',
        cwd: await workspace({
          'k8s/app.yaml': deploymentManifest({ name: 'lost', replicas: 1 }),
          'config/app.yaml': config,
        }),
        inputs: {
          kubeconfig,
          namespace: 'shop',
          manifests: 'k8s/app.yaml',
          'config-files': 'config/app.yaml',
        },
        timeoutMs: 60_000,
      });
      expect(result.exitCode, result.log).toBe(0);
    }
    const first = [...referencedBy('lost')].find(
      (name) => name !== mountedConfig(live(sandbox, 'Deployment', 'shop', 'lost')),
    )!;
    sandbox.store.delete(kind('ConfigMap'), 'shop', first);
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await runAction({
      action: 'rollback',
      inputs: { kubeconfig, namespace: 'shop', deployment: 'lost', 'to-revision': '1' },
      timeoutMs: 60_000,
    });
    expect(result.exitCode).toBe(1);
    const message = result.errors.join('\n');
    expect(message).toContain('Input "to-revision"');
    expect(message).toContain(`refers to ConfigMap ${first}, which no longer exists in namespace shop`);
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
    expect(
      live(sandbox, 'Deployment', 'shop', 'lost')!.metadata.annotations?.[
        'deployment.kubernetes.io/revision'
      ],
    ).toBe('2');
  });
});

describe('deploy-blue-green with config-files', () => {
  it('mounts the config in the idle colour, replacing the live colour’s when only images change', async () => {
    const kubeconfig = sandbox.kubeconfigFor(BLUE_GREEN_ROLE);
    const run = async (
      files: Record<string, string>,
      inputs: Record<string, string>,
    ): Promise<ActionResult> =>
      runAction({
        action: 'deploy-blue-green',
        cwd: await workspace(files),
        inputs: {
          kubeconfig,
          namespace: 'shop',
          timeout: '30s',
          'pre-switch-duration': '1s',
          'verify-duration': '1s',
          'check-interval': '250ms',
          // One file name in every environment: the app reads /etc/app-config/app.yaml.
          'config-files': 'app.yaml=config/production.yaml',
          ...inputs,
        },
        timeoutMs: 60_000,
      });

    const first = await run(
      {
        'k8s/app.yaml': `${deploymentManifest({ name: 'bg', replicas: 1 })}---\n${serviceManifest('bg')}`,
        'config/production.yaml': 'logLevel: warn\n',
      },
      { manifests: 'k8s/app.yaml' },
    );
    expect(first.exitCode, first.log).toBe(0);
    expect(first.outputs['active-color']).toBe('blue');
    const blueConfig = mountedConfig(live(sandbox, 'Deployment', 'shop', 'bg-blue'))!;
    expect(configsOf('bg').get(blueConfig)!.data).toEqual({ 'app.yaml': 'logLevel: warn\n' });

    // Images only: green is made from blue's live template, which mounts blue's config.
    const second = await run(
      { 'config/production.yaml': 'logLevel: warn\nfeatures:\n  darkMode: true\n' },
      { app: 'bg', images: 'bg=ghcr.io/acme/web:2.0.0' },
    );
    expect(second.exitCode, second.log).toBe(0);
    expect(second.outputs['active-color']).toBe('green');
    const green = live(sandbox, 'Deployment', 'shop', 'bg-green');
    const greenConfig = mountedConfig(green)!;
    expect(greenConfig).not.toBe(blueConfig);
    expect(imageOf(green)).toBe('ghcr.io/acme/web:2.0.0');
    expect(podSpec(green)!.volumes!.filter((v) => v.name === 'cd-actions-config')).toHaveLength(1);
    expect(podSpec(green)!.containers[0]!.volumeMounts).toEqual([
      { name: 'cd-actions-config', mountPath: '/etc/app-config', readOnly: true },
    ]);
    expect(configsOf('bg').get(greenConfig)!.data).toEqual({
      'app.yaml': 'logLevel: warn\nfeatures:\n  darkMode: true\n',
    });
    // The previous colour keeps its config for an instant switch back.
    expect(mountedConfig(live(sandbox, 'Deployment', 'shop', 'bg-blue'))).toBe(blueConfig);
    expect(configsOf('bg').has(blueConfig)).toBe(true);
  });
});

describe('canary-step with config-files', () => {
  it('the canary mounts the new config, and promotion gives it to the stable', async () => {
    const kubeconfig = sandbox.kubeconfigFor(CANARY_ROLE);
    const run = async (config: string, image: string): Promise<ActionResult> =>
      runAction({
        action: 'canary-step',
        cwd: await workspace({
          'k8s/app.yaml': `${deploymentManifest({ name: 'cn', image, replicas: 2 })}---\n${serviceManifest('cn')}`,
          'config/production.yaml': config,
        }),
        inputs: {
          kubeconfig,
          namespace: 'shop',
          manifests: 'k8s/app.yaml',
          'config-files': 'config/production.yaml',
          route: 'replicas',
          steps: '50,100',
          'verify-split': 'false',
          'step-duration': '1s',
          'check-interval': '250ms',
          'scale-down-delay': '0s',
          timeout: '30s',
        },
        timeoutMs: 90_000,
      });

    // No stable yet: the first version goes to full size, mounting its config.
    const first = await run('logLevel: info\n', 'ghcr.io/acme/web:1.0.0');
    expect(first.exitCode, first.log).toBe(0);
    const firstConfig = mountedConfig(live(sandbox, 'Deployment', 'shop', 'cn'))!;
    expect(configsOf('cn').get(firstConfig)!.data).toEqual({ 'production.yaml': 'logLevel: info\n' });

    const second = await run('logLevel: info\nfeatures:\n  search: true\n', 'ghcr.io/acme/web:2.0.0');
    expect(second.exitCode, second.log).toBe(0);
    expect(second.outputs.phase).toBe('promoted');
    const stable = live(sandbox, 'Deployment', 'shop', 'cn');
    const secondConfig = mountedConfig(stable)!;
    expect(secondConfig).not.toBe(firstConfig);
    expect(imageOf(stable)).toBe('ghcr.io/acme/web:2.0.0');
    expect(configsOf('cn').get(secondConfig)!.data).toEqual({
      'production.yaml': 'logLevel: info\nfeatures:\n  search: true\n',
    });
    expect(live(sandbox, 'Deployment', 'shop', 'cn-canary')).toBeUndefined();
    // The stable's earlier revision still mounts the first config: a rollback finds it.
    expect(referencedBy('cn')).toEqual(new Set([firstConfig, secondConfig]));
    expect(new Set(configsOf('cn').keys())).toEqual(new Set([firstConfig, secondConfig]));
  });
});
