import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Sandbox } from '../../../sandbox/src/sandbox.js';
import {
  DEPLOYER_ROLE,
  deploymentManifest,
  kind,
  live,
  startTestSandbox,
} from '../../../../test/e2e/fixtures.js';
import { configFilesInputs } from '../inputs/config-files.js';
import { deployInputs, resolveSettings } from '../config/config.js';
import { InputError } from '../inputs/errors.js';
import { createKube } from '../kube/kube.js';
import { KubeObjects } from '../kube/objects.js';
import { recordingRunner } from '../testing/recording-runner.js';
import { planRolling } from '../strategies/rolling/plan.js';
import {
  CONFIG_FILES_FORM,
  CONFIG_OF_LABEL,
  CONFIG_VOLUME,
  collectUnusedConfigs,
  configHash,
  configMapOf,
  configMapRefs,
  configMountOf,
  configMountPatch,
  missingConfigMaps,
  mountConfig,
  readConfigFiles,
  tidyConfigs,
  type ConfigMount,
} from './config-files.js';
import type { KubeObject } from './manifests.js';

const root = mkdtempSync(join(tmpdir(), 'config-files-'));
const workspace = join(root, 'ws');
mkdirSync(join(workspace, 'config', 'nested'), { recursive: true });
writeFileSync(join(root, 'outside.yaml'), 'secret: 1\n');
writeFileSync(join(workspace, 'config', 'app.yaml'), 'apiUrl: https://api.example.com\nlogLevel: info\n');
writeFileSync(join(workspace, 'config', 'flags.yaml'), 'newCheckout: true\n');
writeFileSync(join(workspace, 'config', 'nested', 'app.yaml'), 'duplicate: name\n');
writeFileSync(join(workspace, 'config', 'logo.bin'), Buffer.from([0xff, 0xfe, 0x00, 0x81]));
writeFileSync(join(workspace, 'config', 'bad name.yaml'), 'x: 1\n');
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function problemsOf(patterns: string[]): Promise<InputError> {
  const error = await readConfigFiles(patterns, workspace).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

function deployment(extra: Record<string, unknown> = {}): KubeObject {
  const object = parse(deploymentManifest({ name: 'web' })) as KubeObject;
  const pod = (object.spec as { template: { spec: Record<string, unknown> } }).template.spec;
  Object.assign(pod, extra);
  return object;
}

interface PodView {
  volumes?: { name: string; configMap?: { name: string } }[];
  containers: { name: string; volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[] }[];
  initContainers?: { name: string; volumeMounts?: { name: string; mountPath: string }[] }[];
}

function podOf(object: KubeObject): PodView {
  return (object.spec as { template: { spec: PodView } }).template.spec;
}

const MOUNT: ConfigMount = { configMap: 'web-config-0123456789', mountPath: '/etc/app-config' };

describe('readConfigFiles', () => {
  it('reads each file under its file name, text as data and anything else as binaryData', async () => {
    const config = await readConfigFiles(['config/app.yaml', 'config/*.bin'], workspace);
    expect(config.data).toEqual({ 'app.yaml': 'apiUrl: https://api.example.com\nlogLevel: info\n' });
    expect(config.binaryData).toEqual({
      'logo.bin': Buffer.from([0xff, 0xfe, 0x00, 0x81]).toString('base64'),
    });
    expect(config.files).toEqual(['config/app.yaml', 'config/logo.bin']);
    expect(config.hash).toMatch(/^[0-9a-f]{10}$/);
  });

  it('gives one file another name with name=path, so every environment mounts the same file', async () => {
    const config = await readConfigFiles(['app.yaml=config/flags.yaml', 'config/logo.bin'], workspace);
    expect(config.data).toEqual({ 'app.yaml': 'newCheckout: true\n' });
    expect(Object.keys(config.binaryData)).toEqual(['logo.bin']);
    expect(config.files).toEqual(['config/flags.yaml', 'config/logo.bin']);
  });

  it('names the content, not the order it was given in', async () => {
    const one = await readConfigFiles(['config/app.yaml', 'config/flags.yaml'], workspace);
    const other = await readConfigFiles(['config/flags.yaml', 'config/app.yaml'], workspace);
    expect(other.hash).toBe(one.hash);
    const alone = await readConfigFiles(['config/app.yaml'], workspace);
    expect(alone.hash).not.toBe(one.hash);
  });

  it('hashes keys with their contents: bytes moved from one file to the next make another config', () => {
    const a = configHash(
      new Map([
        ['a', Buffer.from('xy')],
        ['b', Buffer.from('z')],
      ]),
    );
    const b = configHash(
      new Map([
        ['a', Buffer.from('x')],
        ['b', Buffer.from('yz')],
      ]),
    );
    const renamed = configHash(
      new Map([
        ['a', Buffer.from('xy')],
        ['c', Buffer.from('z')],
      ]),
    );
    expect(new Set([a, b, renamed]).size).toBe(3);
    expect(
      configHash(
        new Map([
          ['b', Buffer.from('z')],
          ['a', Buffer.from('xy')],
        ]),
      ),
    ).toBe(a);
  });

  it.each([
    ['a path outside the workspace', ['../outside.yaml'], '"../outside.yaml"'],
    ['a missing file', ['config/missing.yaml'], 'cannot read "config/missing.yaml" (no such file)'],
    ['a glob that matches nothing', ['config/*.json'], '"config/*.json" matches no file'],
    ['a folder', ['config/nested'], 'cannot read "config/nested" (it is a folder)'],
    [
      'two files with one name',
      ['config/app.yaml', 'config/nested/app.yaml'],
      'the same file name "app.yaml"',
    ],
    ['a file name that is no ConfigMap key', ['config/bad name.yaml'], 'cannot be a ConfigMap key'],
    [
      'a rename onto a file name given already',
      ['config/app.yaml', 'app.yaml=config/flags.yaml'],
      '"config/app.yaml" and "config/flags.yaml" have the same file name "app.yaml"',
    ],
  ])('refuses %s, naming the input, the value and the accepted form', async (_, patterns, detail) => {
    const error = await problemsOf(patterns);
    expect(error.problems).toHaveLength(1);
    const [problem] = error.problems;
    expect(problem!.input).toBe('config-files');
    expect(problem!.value).toBe(patterns.join('\n'));
    expect(problem!.accepted).toBe(CONFIG_FILES_FORM);
    expect(problem!.message).toContain('Input "config-files"');
    expect(problem!.message).toContain(detail);
    expect(problem!.message).toContain(`expected ${CONFIG_FILES_FORM}`);
  });

  it('refuses files that add up to more than a ConfigMap holds', async () => {
    writeFileSync(join(workspace, 'config', 'big-1.txt'), 'a'.repeat(600 * 1024));
    writeFileSync(join(workspace, 'config', 'big-2.txt'), 'b'.repeat(600 * 1024));
    const error = await problemsOf(['config/big-*.txt']);
    expect(error.message).toContain('the files add up to 1.17 MiB, over the 1 MiB a ConfigMap holds');
  });
});

describe('configMapOf', () => {
  it('is immutable, named by app and hash, and labelled for collection', async () => {
    const config = await readConfigFiles(['config/app.yaml'], workspace);
    const cm = configMapOf('web', config, 'shop');
    expect(cm.metadata).toEqual({
      name: `web-config-${config.hash}`,
      namespace: 'shop',
      labels: { 'app.kubernetes.io/managed-by': 'cd-actions', [CONFIG_OF_LABEL]: 'web' },
    });
    expect(cm.immutable).toBe(true);
    expect(cm.data).toEqual(config.data);
    expect(cm).not.toHaveProperty('binaryData');
  });
});

describe('mountConfig', () => {
  it('mounts the ConfigMap read-only in every container, init containers too', () => {
    const object = deployment({ initContainers: [{ name: 'migrate', image: 'ghcr.io/acme/migrate:1' }] });
    expect(mountConfig(object, MOUNT)).toEqual([]);
    const pod = podOf(object);
    expect(pod.volumes).toEqual([{ name: CONFIG_VOLUME, configMap: { name: MOUNT.configMap } }]);
    const mount = { name: CONFIG_VOLUME, mountPath: '/etc/app-config', readOnly: true };
    expect(pod.containers[0]!.volumeMounts).toEqual([mount]);
    expect(pod.initContainers![0]!.volumeMounts).toEqual([mount]);
  });

  it('is idempotent, and replaces an earlier config (a template taken from the live Deployment)', () => {
    const object = deployment({ volumes: [{ name: 'cache', emptyDir: {} }] });
    (podOf(object).containers[0]!.volumeMounts as unknown) = [{ name: 'cache', mountPath: '/cache' }];
    mountConfig(object, { configMap: 'web-config-aaaaaaaaaa', mountPath: '/etc/old' });
    mountConfig(object, MOUNT);
    const once = structuredClone(object);
    mountConfig(object, MOUNT);
    expect(object).toEqual(once);
    const pod = podOf(object);
    expect(pod.volumes).toEqual([
      { name: 'cache', emptyDir: {} },
      { name: CONFIG_VOLUME, configMap: { name: MOUNT.configMap } },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'cache', mountPath: '/cache' },
      { name: CONFIG_VOLUME, mountPath: '/etc/app-config', readOnly: true },
    ]);
  });

  it('refuses a mount path where a container mounts another volume', () => {
    const object = deployment({ volumes: [{ name: 'settings', configMap: { name: 'settings' } }] });
    (podOf(object).containers[0]!.volumeMounts as unknown) = [
      { name: 'settings', mountPath: '/etc/app-config/' },
    ];
    const problems = mountConfig(object, MOUNT);
    expect(problems).toEqual([
      'Input "config-mount-path" has value "/etc/app-config": Deployment web, container "web" mounts volume "settings" there already; expected a folder of its own for the config files',
    ]);
  });
});

describe('configMountPatch', () => {
  it('patches the volume by name and each mount by path, deleting one left at an earlier path', () => {
    const live = deployment();
    mountConfig(live, { configMap: 'web-config-aaaaaaaaaa', mountPath: '/etc/old' });
    const patch = configMountPatch(live, MOUNT);
    expect(patch.problems).toEqual([]);
    expect(patch.volumes).toEqual([{ name: CONFIG_VOLUME, configMap: { name: MOUNT.configMap } }]);
    expect(patch.mounts.get('web')).toEqual([
      { name: CONFIG_VOLUME, mountPath: '/etc/app-config', readOnly: true },
      { mountPath: '/etc/old', $patch: 'delete' },
    ]);
    // The live object is read, not changed.
    expect(podOf(live).volumes).toEqual([
      { name: CONFIG_VOLUME, configMap: { name: 'web-config-aaaaaaaaaa' } },
    ]);
  });
});

describe('configMountOf', () => {
  it('reads back the config a template mounts, and where', () => {
    const object = deployment();
    expect(configMountOf(podOf(object))).toBeUndefined();
    mountConfig(object, { configMap: 'web-config-bbbbbbbbbb', mountPath: '/srv/config' });
    expect(configMountOf(podOf(object))).toEqual({
      configMap: 'web-config-bbbbbbbbbb',
      mountPath: '/srv/config',
    });
  });
});

describe('configMapRefs', () => {
  it('finds volumes, projected volumes, envFrom and env valueFrom, with whether each is optional', () => {
    const refs = configMapRefs({
      volumes: [
        { name: 'a', configMap: { name: 'from-volume' } },
        { name: 'b', projected: { sources: [{ configMap: { name: 'from-projected', optional: true } }] } },
        { name: 'c', emptyDir: {} },
      ],
      initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'from-init-env' } }] }],
      containers: [
        {
          name: 'web',
          envFrom: [{ secretRef: { name: 'not-a-config-map' } }],
          env: [
            { name: 'X', valueFrom: { configMapKeyRef: { name: 'from-key', key: 'x' } } },
            { name: 'Y', value: 'plain' },
          ],
        },
      ],
    });
    expect(refs).toEqual([
      { name: 'from-volume', optional: false },
      { name: 'from-projected', optional: true },
      { name: 'from-init-env', optional: false },
      { name: 'from-key', optional: false },
    ]);
  });
});

describe('config-files', () => {
  const spec = configFilesInputs['config-files'];
  const context = { roots: { workspace } };
  it('takes paths, globs and name=path, one per line or comma-separated', () => {
    expect(spec.parse('config/app.yaml\nconfig/*.yaml, app.yaml=config/flags.yaml', context)).toEqual({
      ok: true,
      value: ['config/app.yaml', 'config/*.yaml', 'app.yaml=config/flags.yaml'],
    });
  });
  it.each([
    ['../outside.yaml', 'the path leads out of the workspace'],
    ['app.yaml=../outside.yaml', 'the path leads out of the workspace'],
    ['app.yaml=config/*.yaml', 'a name is given to one file, not to a glob'],
    ['my app.yaml=config/app.yaml', '"my app.yaml" is not a ConfigMap key'],
    ['app.yaml=', 'no path after "="'],
  ])('refuses %j', (raw, reason) => {
    const parsed = spec.parse(raw, context);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });
  it('reads a path with "=" in a folder name as a path', () => {
    expect(spec.parse('config/a=b/app.yaml', context).ok).toBe(true);
  });
});

describe('config-files in the deploy config', () => {
  const spec = { ...deployInputs, ...configFilesInputs };
  const read =
    (values: Record<string, string>) =>
    (name: string): string =>
      values[name] ?? '';
  writeFileSync(
    join(workspace, 'deploy.yml'),
    [
      'environments:',
      '  production:',
      '    config-files:',
      '      - app.yaml=config/app.yaml',
      '      - config/flags.yaml',
      '    config-mount-path: /srv/config',
      '  staging:',
      '    config-files: config/app.yaml',
      '  broken:',
      '    config-files: ../outside.yaml',
      '',
    ].join('\n'),
  );

  it('takes the environment’s list, or one path, and its mount path', () => {
    const production = resolveSettings(spec, {
      workspace,
      read: read({ environment: 'production', config: 'deploy.yml' }),
    });
    expect(production.configFiles).toEqual(['app.yaml=config/app.yaml', 'config/flags.yaml']);
    expect(production.configMountPath).toBe('/srv/config');
    const staging = resolveSettings(spec, {
      workspace,
      read: read({ environment: 'staging', config: 'deploy.yml' }),
    });
    expect(staging.configFiles).toEqual(['config/app.yaml']);
    expect(staging.configMountPath).toBe('/etc/app-config');
  });

  it('lets the input win', () => {
    const settings = resolveSettings(spec, {
      workspace,
      read: read({ environment: 'production', config: 'deploy.yml', 'config-files': 'config/flags.yaml' }),
    });
    expect(settings.configFiles).toEqual(['config/flags.yaml']);
  });

  it('refuses a path out of the workspace, naming the file and line it came from', () => {
    const error = (() => {
      try {
        resolveSettings(spec, { workspace, read: read({ environment: 'broken', config: 'deploy.yml' }) });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems).toMatchObject([
      { input: 'config-files', file: 'deploy.yml', line: 10 },
    ]);
    expect((error as InputError).message).toContain(
      'Input "config-files" has value "../outside.yaml" (from deploy.yml:10, environments.broken.config-files): item "../outside.yaml": the path leads out of the workspace',
    );
  });
});

describe('config-mount-path', () => {
  const spec = configFilesInputs['config-mount-path'];
  it.each(['/etc/app-config', '/config', '/srv/app/conf.d/'])('takes %s', (path) => {
    expect(spec.parse(path).ok).toBe(true);
  });
  it.each(['etc/app-config', '/', '/etc/../root', '/etc/./x', '/a b', '/etc/app:config', ''])(
    'refuses %j',
    (path) => {
      expect(spec.parse(path).ok).toBe(false);
    },
  );
  it('defaults to /etc/app-config', () => {
    expect(spec.default).toBe('/etc/app-config');
  });
});

describe('planRolling with config-files', () => {
  it('applies the ConfigMap before the Deployments and mounts it into those in scope', async () => {
    writeFileSync(
      join(workspace, 'k8s.yaml'),
      `${deploymentManifest({ name: 'web' })}---\n${deploymentManifest({ name: 'worker' })}`,
    );
    const files = await readConfigFiles(['config/app.yaml'], workspace);
    const plan = await planRolling({
      namespace: 'shop',
      manifests: ['k8s.yaml'],
      images: [],
      deployments: ['web'],
      workspace,
      config: { files, mountPath: '/etc/app-config' },
    });
    expect(plan.objects.map((m) => `${m.object.kind}/${m.object.metadata.name} ${m.source}`)).toEqual([
      `ConfigMap/web-config-${files.hash} config-files`,
      'Deployment/web k8s.yaml:1',
      'Deployment/worker k8s.yaml:28',
    ]);
    expect(plan.objects[0]!.object.metadata.namespace).toBe('shop');
    expect(plan.config).toEqual({ configMap: `web-config-${files.hash}`, mountPath: '/etc/app-config' });
    expect(podOf(plan.objects[1]!.object).volumes).toEqual([
      { name: CONFIG_VOLUME, configMap: { name: `web-config-${files.hash}` } },
    ]);
    // worker is not rolled out by this step, so it does not mount the config.
    expect(podOf(plan.objects[2]!.object).volumes).toBeUndefined();
  });

  it('deploys config alone to live Deployments (no manifests, no images)', async () => {
    const files = await readConfigFiles(['config/flags.yaml'], workspace);
    const plan = await planRolling({
      namespace: undefined,
      manifests: [],
      images: [],
      deployments: ['web'],
      workspace,
      config: { files, mountPath: '/config', app: 'shop' },
    });
    expect(plan.objects.map((m) => m.object.metadata.name)).toEqual([`shop-config-${files.hash}`]);
    expect(plan.objects[0]!.object.metadata).not.toHaveProperty('namespace');
    expect(plan.config).toEqual({ configMap: `shop-config-${files.hash}`, mountPath: '/config' });
  });
});

describe('against the cluster', () => {
  let sandbox: Sandbox;
  let objects: KubeObjects;
  const quiet = { env: {}, homeDir: '/nonexistent', setSecret: () => undefined, warn: () => undefined };

  beforeAll(async () => {
    sandbox = await startTestSandbox();
    const kube = await createKube(
      { kubeconfig: sandbox.kubeconfigFor(DEPLOYER_ROLE), namespace: 'shop' },
      quiet,
    );
    objects = new KubeObjects(kube);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  function configMap(name: string, app: string | undefined): void {
    sandbox.store.create(kind('ConfigMap'), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: 'shop',
        ...(app ? { labels: { 'app.kubernetes.io/managed-by': 'cd-actions', [CONFIG_OF_LABEL]: app } } : {}),
      },
      immutable: true,
      data: { 'app.yaml': name },
    });
  }

  function withConfig(object: KubeObject, name: string): KubeObject {
    mountConfig(object, { configMap: name, mountPath: '/etc/app-config' });
    return object;
  }

  it('collects only the app’s ConfigMaps that no Deployment, ReplicaSet or Pod refers to', async () => {
    for (const name of ['gc-used', 'gc-history', 'gc-pod', 'gc-env', 'gc-unused-1', 'gc-unused-2'])
      configMap(name, 'gc');
    configMap('other-unused', 'other');
    configMap('gc-unlabelled', undefined);
    sandbox.store.create(
      kind('Deployment'),
      withConfig(
        parse(deploymentManifest({ name: 'gc', replicas: 0, namespace: 'shop' })) as KubeObject,
        'gc-used',
      ),
    );
    // An old revision: a ReplicaSet scaled to zero still names its config.
    const rs = withConfig(
      parse(deploymentManifest({ name: 'gc-old', replicas: 0, namespace: 'shop' })) as KubeObject,
      'gc-history',
    );
    sandbox.store.create(kind('ReplicaSet'), { ...rs, kind: 'ReplicaSet' });
    sandbox.store.create(kind('Pod'), {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'gc-pod', namespace: 'shop' },
      spec: {
        containers: [
          { name: 'x', image: 'ghcr.io/acme/x:1', envFrom: [{ configMapRef: { name: 'gc-pod' } }] },
        ],
      },
    });
    const env = parse(deploymentManifest({ name: 'gc-env', replicas: 0, namespace: 'shop' })) as KubeObject;
    (podOf(env).containers[0] as unknown as { env: unknown[] }).env = [
      { name: 'A', valueFrom: { configMapKeyRef: { name: 'gc-env', key: 'app.yaml' } } },
    ];
    sandbox.store.create(kind('Deployment'), env);

    const deleted = await collectUnusedConfigs(objects, 'shop', 'gc');
    expect(deleted.sort()).toEqual(['gc-unused-1', 'gc-unused-2']);
    const left = (name: string): boolean => live(sandbox, 'ConfigMap', 'shop', name) !== undefined;
    for (const name of ['gc-used', 'gc-history', 'gc-pod', 'gc-env', 'other-unused', 'gc-unlabelled'])
      expect(left(name), name).toBe(true);
    expect(left('gc-unused-1') || left('gc-unused-2')).toBe(false);
    // Nothing left to collect: a second run deletes nothing.
    expect(await collectUnusedConfigs(objects, 'shop', 'gc')).toEqual([]);
  });

  it('says which ConfigMaps a pod template needs that are gone (optional ones are not needed)', async () => {
    configMap('present', undefined);
    const pod = {
      volumes: [
        { name: 'a', configMap: { name: 'present' } },
        { name: 'b', configMap: { name: 'gone' } },
        { name: 'c', configMap: { name: 'gone-but-optional', optional: true } },
      ],
      containers: [{ name: 'x', envFrom: [{ configMapRef: { name: 'gone' } }] }],
    };
    expect(await missingConfigMaps(objects, 'shop', pod)).toEqual(['gone']);
  });

  it('warns, never throws, when collection fails (a Role without list on configmaps)', async () => {
    const narrow = await createKube(
      {
        kubeconfig: sandbox.kubeconfigFor({ ...DEPLOYER_ROLE, name: 'narrow', verbs: ['get'] }),
        namespace: 'shop',
      },
      quiet,
    );
    configMap('narrow-unused', 'narrow');
    const runner = recordingRunner();
    await tidyConfigs(new KubeObjects(narrow), 'shop', 'narrow', runner);
    expect(runner.warnings).toHaveLength(1);
    expect(runner.warnings[0]).toContain('The unused config ConfigMaps of narrow in shop were not collected');
    expect(runner.warnings[0]).toContain('forbidden');
    expect(live(sandbox, 'ConfigMap', 'shop', 'narrow-unused')).toBeDefined();
  });

  it('logs what it collected', async () => {
    configMap('logged-unused', 'logged');
    const runner = recordingRunner();
    await tidyConfigs(objects, 'shop', 'logged', runner);
    expect(runner.warnings).toEqual([]);
    expect(runner.lines).toEqual([
      'deleted ConfigMap(s) logged-unused: no Deployment, ReplicaSet or Pod refers to them any more',
    ]);
    expect(live(sandbox, 'ConfigMap', 'shop', 'logged-unused')).toBeUndefined();
  });
});
