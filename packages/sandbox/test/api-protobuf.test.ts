/**
 * The protobuf request bodies Go clients send: the tables against @kubernetes/client-node's
 * models and against kubectl's own generated Go code (a fake server answers kubectl in protobuf
 * encoded from the tables, and kubectl prints what it decoded), the decoder's rules (Go zeros,
 * pointers, inline structs, unknown fields), and the API server reading protobuf on create,
 * update, status, scale and delete.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as models from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESOURCE_TYPES, apiVersionOf, findResource } from '../src/resources.js';
import { PROTOBUF, decodeProtobuf, messageFor, messageNamed } from '../src/api/protobuf.js';
import type { Message } from '../src/api/protobuf/schema.js';
import { deployment, startTestApi, type TestApi, type Untyped } from './api-helpers.js';
import {
  encodeList,
  encodeMessage,
  encodeObject,
  envelope,
  lengthDelimited,
  varintField,
} from './protobuf-helpers.js';
import { kubectlFor, requireKubectl, type Kubectl } from './kubectl-helpers.js';
import {
  CONFIG_MAP,
  DEPLOYMENT,
  EVENT,
  INGRESS,
  NAMESPACE,
  POD_SPEC,
  SECRET,
  SERVICE,
} from './protobuf-fixtures.js';

const CRD_GROUPS = new Set(['networking.istio.io', 'gateway.networking.k8s.io']);
const deployments = findResource('apps', 'deployments')!;
const replicasets = findResource('apps', 'replicasets')!;

describe('protobuf tables', () => {
  it('cover every built-in kind the sandbox serves', () => {
    const builtIn = RESOURCE_TYPES.filter((t) => !CRD_GROUPS.has(t.group));
    const missing = builtIn.filter((t) => !messageFor(apiVersionOf(t), t.kind)).map((t) => t.kind);
    expect(missing).toEqual([]);
    for (const t of RESOURCE_TYPES.filter((t) => CRD_GROUPS.has(t.group)))
      expect(messageFor(apiVersionOf(t), t.kind)).toBeUndefined();
  });

  // The client-node model of each message names the same JSON fields, inline structs flattened.
  // Fields newer than the k8s.io/api sources the tables were read from are listed, so that a
  // client-node upgrade shows what to add.
  const MODEL_PREFIX: Record<string, string[]> = {
    meta: ['V1'],
    core: ['CoreV1', 'V1'],
    apps: ['V1'],
    networking: ['V1'],
    autoscaling: ['V2'],
    autoscalingv1: ['V1'],
    discovery: ['DiscoveryV1', 'V1'],
    coordination: ['V1'],
    authorization: ['V1'],
  };
  const NEWER_THAN_CLIENT_NODE: Record<string, string[]> = {
    'apps.DeploymentSpec': ['podReplacementPolicy'],
  };
  const NEWER_THAN_TABLES: Record<string, string[]> = {
    'meta.DeleteOptions': ['ignoreStoreReadErrorWithClusterBreakingPotential'],
    'core.VolumeProjection': ['podCertificate'],
    'core.EnvVarSource': ['fileKeyRef'],
    'core.Container': ['restartPolicyRules'],
    'core.EphemeralContainer': ['restartPolicyRules'],
    'core.Lifecycle': ['stopSignal'],
    'core.ContainerStatus': ['allocatedResourcesStatus', 'stopSignal'],
    'core.PodCondition': ['observedGeneration'],
    'core.VolumeMountStatus': ['volumeStatus'],
    'core.PodSpec': ['hostnameOverride', 'schedulingGroup'],
    'core.PodStatus': [
      'allocatedResources',
      'extendedResourceClaimStatus',
      'nodeAllocatableResourceClaimStatuses',
      'observedGeneration',
      'resources',
    ],
    'autoscaling.HPAScalingRules': ['tolerance'],
    'discovery.EndpointHints': ['forNodes'],
    'authorization.SelfSubjectAccessReview': ['status'],
    'authorization.ResourceAttributes': ['fieldSelector', 'labelSelector'],
  };

  function jsonNames(message: Message): string[] {
    return [...message.fields.values()].flatMap((f) =>
      f.inline && f.type.kind === 'message' ? jsonNames(f.type.message) : [f.name],
    );
  }

  it('name their fields as the JSON API does', () => {
    const report: Record<string, { extra: string[]; missing: string[] }> = {};
    for (const [pkg, prefixes] of Object.entries(MODEL_PREFIX)) {
      for (const name of messageNamesIn(pkg)) {
        const model = prefixes
          .map((p) => (models as unknown as Record<string, unknown>)[`${p}${name}`])
          .find((m): m is { getAttributeTypeMap(): { baseName: string }[] } =>
            Boolean(m && typeof m === 'function' && 'getAttributeTypeMap' in m),
          );
        if (!model) continue; // VolumeSource, ProbeHandler, IngressRuleValue: inline only
        const table = jsonNames(messageNamed(`${pkg}.${name}`));
        // A top-level object's apiVersion and kind travel in the envelope, not in its message.
        const topLevel = !table.includes('apiVersion') && !table.includes('kind');
        const declared = model
          .getAttributeTypeMap()
          .map((a) => a.baseName)
          .filter((n) => !(topLevel && (n === 'apiVersion' || n === 'kind')));
        const extra = table.filter((n) => !declared.includes(n));
        const missing = declared.filter((n) => !table.includes(n));
        if (extra.length || missing.length) report[`${pkg}.${name}`] = { extra, missing };
      }
    }
    const expected: Record<string, { extra: string[]; missing: string[] }> = {};
    for (const [key, extra] of Object.entries(NEWER_THAN_CLIENT_NODE)) expected[key] = { extra, missing: [] };
    for (const [key, missing] of Object.entries(NEWER_THAN_TABLES)) expected[key] = { extra: [], missing };
    expect(report).toEqual(expected);
  });
});

/** The message names of one package, read back from the registry through messageNamed. */
function messageNamesIn(pkg: string): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const visit = (message: Message): void => {
    if (seen.has(message.name)) return;
    seen.add(message.name);
    if (message.name.startsWith(`${pkg}.`)) names.push(message.name.slice(pkg.length + 1));
    for (const field of message.fields.values()) if (field.type.kind === 'message') visit(field.type.message);
  };
  for (const t of RESOURCE_TYPES) {
    const message = messageFor(apiVersionOf(t), t.kind);
    if (message) visit(message);
  }
  for (const extra of ['autoscalingv1.Scale', 'meta.DeleteOptions', 'authorization.SelfSubjectAccessReview'])
    visit(messageNamed(extra));
  return names;
}

describe('decoding', () => {
  it('gives back every fixture field, pointer zeros and inline structs included', () => {
    for (const fixture of [DEPLOYMENT, SERVICE, INGRESS, CONFIG_MAP, SECRET, NAMESPACE, EVENT]) {
      const { object, unknownFields } = decodeProtobuf(encodeObject(fixture));
      expect(unknownFields).toEqual([]);
      expect(object).toEqual(fixture);
    }
  });

  it('leaves out the zeros Go writes for non-pointer fields, as JSON does', () => {
    const spec = messageNamed('apps.DeploymentSpec');
    const raw = lengthDelimited(
      2,
      Buffer.concat([varintField(1, 0), varintField(5, 0), varintField(7, 0), encodeMessage({}, spec)]),
    );
    const { object } = decodeProtobuf(envelope('apps/v1', 'Deployment', raw));
    expect(object.spec).toEqual({ replicas: 0 });
  });

  it('reads negative numbers, packed repeated scalars and the last of a repeated singular field', () => {
    const securityContext = Buffer.concat([
      varintField(2, -1n), // runAsUser
      lengthDelimited(4, Buffer.concat([Buffer.from([0xd0, 0x0f]), Buffer.from([0xb8, 0x17])])), // packed 2000, 3000
      varintField(5, 1),
      varintField(5, 7), // fsGroup twice: the last wins
    ]);
    const raw = lengthDelimited(2, lengthDelimited(14, securityContext));
    const { object } = decodeProtobuf(envelope('v1', 'Pod', raw));
    expect(object.spec).toEqual({
      securityContext: { runAsUser: -1, supplementalGroups: [2000, 3000], fsGroup: 7 },
    });
  });

  it('reports fields the tables do not know, with where they were', () => {
    const container = Buffer.concat([
      encodeMessage({ name: 'web', image: 'nginx' }, messageNamed('core.Container')),
      varintField(99, 1),
    ]);
    const raw = Buffer.concat([lengthDelimited(2, lengthDelimited(2, container)), varintField(42, 3)]);
    const { object, unknownFields } = decodeProtobuf(envelope('v1', 'Pod', raw));
    expect(object.spec).toEqual({ containers: [{ name: 'web', image: 'nginx' }] });
    expect(unknownFields).toEqual([
      'spec.containers[0]: field 99 of core.Container',
      '.: field 42 of core.Pod',
    ]);
  });

  it('refuses kinds without a protobuf form with 415 and malformed bodies with 400', () => {
    const status = (body: Buffer): { code: number; message: string } => {
      try {
        decodeProtobuf(body);
      } catch (error) {
        return error as { code: number; message: string };
      }
      throw new Error('expected a refusal');
    };
    expect(status(envelope('networking.istio.io/v1', 'VirtualService', Buffer.alloc(0)))).toMatchObject({
      code: 415,
      message: expect.stringContaining('send VirtualService as JSON'),
    });
    expect(status(Buffer.from('{"kind":"Pod"}'))).toMatchObject({
      code: 415,
      message: expect.stringContaining('no protobuf envelope'),
    });
    const truncated = encodeObject(DEPLOYMENT).subarray(0, 200);
    expect(status(truncated)).toMatchObject({
      code: 400,
      message: expect.stringContaining('could not be decoded'),
    });
  });
});

describe('API server', () => {
  let t: TestApi;

  function send(
    method: string,
    path: string,
    body: Buffer,
    contentType = PROTOBUF,
  ): Promise<{ status: number; headers: Record<string, unknown>; json: Untyped }> {
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, t.api.url),
        {
          method,
          ca: Buffer.from(t.api.caData, 'base64'),
          headers: {
            Authorization: `Bearer ${t.api.adminToken}`,
            'Content-Type': contentType,
            // Node sends no length for a DELETE body unless told.
            'Content-Length': body.length,
            Accept: `${PROTOBUF},application/json`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              json: text ? JSON.parse(text) : undefined,
            });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    t = await startTestApi();
    await t.raw('POST', '/api/v1/namespaces', { body: { metadata: { name: 'shop' } } });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('creates every served built-in kind from protobuf and stores what was sent', async () => {
    const objects: Untyped[] = [
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'pb-cm' },
        data: { a: '1' },
        immutable: false,
      },
      {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'pb-pod', labels: { app: 'pb' } },
        spec: {
          containers: [POD_SPEC.containers[0]],
          volumes: POD_SPEC.volumes.slice(0, 3),
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Endpoints',
        metadata: { name: 'pb-ep' },
        subsets: [
          {
            addresses: [
              { ip: '10.1.0.5', hostname: 'a', nodeName: 'node-1', targetRef: { kind: 'Pod', name: 'a' } },
            ],
            notReadyAddresses: [{ ip: '10.1.0.6' }],
            ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }],
          },
        ],
      },
      {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: 'pb-slice', labels: { 'kubernetes.io/service-name': 'pb' } },
        addressType: 'IPv4',
        endpoints: [
          {
            addresses: ['10.1.0.5'],
            conditions: { ready: false, serving: true, terminating: false },
            hostname: 'a',
            targetRef: { kind: 'Pod', name: 'a', namespace: 'shop' },
            nodeName: 'node-1',
            zone: 'z1',
            hints: { forZones: [{ name: 'z1' }] },
          },
        ],
        ports: [{ name: 'http', protocol: 'TCP', port: 8080, appProtocol: 'http' }],
      },
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'pb-lease' },
        spec: {
          holderIdentity: 'me',
          leaseDurationSeconds: 15,
          acquireTime: '2024-05-01T10:00:00.000001Z',
          renewTime: '2024-05-01T10:00:10.500000Z',
          leaseTransitions: 0,
        },
      },
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'pb-hpa' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 2,
          maxReplicas: 5,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
            },
            {
              type: 'Pods',
              pods: {
                metric: { name: 'rps', selector: { matchLabels: { a: 'b' } } },
                target: { type: 'AverageValue', averageValue: '100' },
              },
            },
          ],
          behavior: {
            scaleDown: {
              stabilizationWindowSeconds: 0,
              selectPolicy: 'Min',
              policies: [{ type: 'Percent', value: 10, periodSeconds: 60 }],
            },
          },
        },
      },
      { ...EVENT, metadata: { name: 'pb-event' } },
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: { name: 'pb-rs' },
        spec: {
          replicas: 0,
          minReadySeconds: 3,
          selector: { matchLabels: { app: 'pb-rs' } },
          template: {
            metadata: { labels: { app: 'pb-rs' } },
            spec: { containers: [{ name: 'c', image: 'nginx' }] },
          },
        },
      },
    ];
    for (const obj of objects) {
      const t0 = RESOURCE_TYPES.find((r) => r.kind === obj.kind)!;
      const base = t0.group ? `/apis/${t0.group}/${t0.versions[0]}` : '/api/v1';
      const created = await send('POST', `${base}/namespaces/shop/${t0.resource}`, encodeObject(obj));
      expect(created.status, `${obj.kind}: ${JSON.stringify(created.json)}`).toBe(201);
      const stored = t.store.get(t0, 'shop', obj.metadata.name) as Untyped;
      const { apiVersion, kind, metadata, ...rest } = obj;
      void apiVersion;
      void kind;
      expect(stored.metadata).toMatchObject(metadata);
      expect(stored).toMatchObject(rest);
    }
  });

  it('applies fieldValidation to protobuf fields it cannot read: Strict fails, Warn warns', async () => {
    const container = Buffer.concat([
      encodeMessage({ name: 'web', image: 'nginx' }, messageNamed('core.Container')),
      varintField(99, 1),
    ]);
    const pod = (name: string): Buffer =>
      envelope(
        'v1',
        'Pod',
        Buffer.concat([
          lengthDelimited(1, encodeMessage({ name }, messageNamed('meta.ObjectMeta'))),
          lengthDelimited(2, lengthDelimited(2, container)),
        ]),
      );
    const strict = await send('POST', '/api/v1/namespaces/shop/pods?fieldValidation=Strict', pod('strict'));
    expect(strict.status).toBe(400);
    expect(strict.json.message).toContain('unknown field "spec.containers[0]: field 99 of core.Container"');
    expect(t.store.get(findResource('', 'pods')!, 'shop', 'strict')).toBeUndefined();
    const warn = await send('POST', '/api/v1/namespaces/shop/pods', pod('warn'));
    expect(warn.status).toBe(201);
    expect(String(warn.headers.warning)).toContain('field 99 of core.Container');
    const ignore = await send('POST', '/api/v1/namespaces/shop/pods?fieldValidation=Ignore', pod('ignore'));
    expect(ignore.status).toBe(201);
    expect(ignore.headers.warning).toBeUndefined();
  });

  it('reads protobuf on update, status, scale and delete', async () => {
    await t.apps.createNamespacedDeployment({
      namespace: 'shop',
      body: deployment('pbd', 'shop', 'nginx:1', 2),
    });
    const current = t.store.get(deployments, 'shop', 'pbd') as Untyped;
    const updated = structuredClone(current);
    updated.spec.template.spec.containers[0].image = 'nginx:2';
    updated.spec.revisionHistoryLimit = 0;
    const put = await send('PUT', '/apis/apps/v1/namespaces/shop/deployments/pbd', encodeObject(updated));
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    expect((t.store.get(deployments, 'shop', 'pbd') as Untyped).spec).toMatchObject({
      revisionHistoryLimit: 0,
      template: { spec: { containers: [{ image: 'nginx:2' }] } },
    });

    const withStatus = { ...(t.store.get(deployments, 'shop', 'pbd') as Untyped) };
    withStatus.status = { observedGeneration: 2, replicas: 2, readyReplicas: 1, collisionCount: 0 };
    const status = await send(
      'PUT',
      '/apis/apps/v1/namespaces/shop/deployments/pbd/status',
      encodeObject(withStatus),
    );
    expect(status.status, JSON.stringify(status.json)).toBe(200);
    expect((t.store.get(deployments, 'shop', 'pbd') as Untyped).status).toEqual({
      observedGeneration: 2,
      replicas: 2,
      readyReplicas: 1,
      collisionCount: 0,
    });

    const scale = {
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'pbd', namespace: 'shop' },
      spec: { replicas: 0 },
    };
    const scaled = await send(
      'PUT',
      '/apis/apps/v1/namespaces/shop/deployments/pbd/scale',
      encodeObject(scale),
    );
    expect(scaled.status, JSON.stringify(scaled.json)).toBe(200);
    expect((t.store.get(deployments, 'shop', 'pbd') as Untyped).spec.replicas).toBe(0);

    const owner = t.store.get(deployments, 'shop', 'pbd')!;
    t.store.create(replicasets, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'pbd-1',
        namespace: 'shop',
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: 'pbd',
            uid: owner.metadata.uid!,
            controller: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'pbd' } },
        template: { metadata: { labels: { app: 'pbd' } } },
      },
    });
    const options = { apiVersion: 'apps/v1', kind: 'DeleteOptions', propagationPolicy: 'Orphan' };
    const deleted = await send(
      'DELETE',
      '/apis/apps/v1/namespaces/shop/deployments/pbd',
      encodeObject(options),
    );
    expect(deleted.status, JSON.stringify(deleted.json)).toBe(200);
    expect(t.store.get(deployments, 'shop', 'pbd')).toBeUndefined();
    expect(t.store.get(replicasets, 'shop', 'pbd-1')?.metadata.ownerReferences ?? []).toEqual([]);
  });

  it('answers 415 for a custom resource sent as protobuf and stores nothing', async () => {
    const body = envelope('networking.istio.io/v1', 'VirtualService', Buffer.alloc(0));
    const refused = await send('POST', '/apis/networking.istio.io/v1/namespaces/shop/virtualservices', body);
    expect(refused.status).toBe(415);
    expect(refused.json.message).toContain('send VirtualService as JSON');
    expect(t.store.list(findResource('networking.istio.io', 'virtualservices')!).items).toEqual([]);
  });
});

describe('kubectl decodes what the tables encode', () => {
  let dir = '';
  let server: Server;
  let answer: Buffer = Buffer.alloc(0);
  let kubectl: Kubectl;
  const requests: string[] = [];

  beforeAll(async () => {
    await requireKubectl();
    dir = mkdtempSync(join(tmpdir(), 'sandbox-protobuf-'));
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        requests.push(`${req.method} ${req.url} ${req.headers.accept ?? ''}`);
        if (req.url?.startsWith('/version')) {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end('{"major":"1","minor":"32","gitVersion":"v1.32.0"}');
          return;
        }
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'Content-Type': PROTOBUF });
        res.end(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    writeFileSync(
      join(dir, 'kubeconfig'),
      `apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: "http://127.0.0.1:${port}"}}]
users: [{name: fake, user: {token: fake}}]
contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: shop}}]
current-context: fake
`,
      { mode: 0o600 },
    );
    kubectl = kubectlFor(join(dir, 'kubeconfig'), dir);
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cases: { name: string; args: string[]; fixture: Untyped }[] = [
    { name: 'Deployment', args: ['create', 'deployment', 'web', '--image=nginx'], fixture: DEPLOYMENT },
    { name: 'Service', args: ['create', 'service', 'clusterip', 'web', '--tcp=80'], fixture: SERVICE },
    { name: 'Ingress', args: ['create', 'ingress', 'web', '--rule=a.example.com/=web:80'], fixture: INGRESS },
    { name: 'ConfigMap', args: ['create', 'configmap', 'web-config'], fixture: CONFIG_MAP },
    { name: 'Secret', args: ['create', 'secret', 'generic', 'web-secret'], fixture: SECRET },
    { name: 'Namespace', args: ['create', 'namespace', 'shop'], fixture: NAMESPACE },
  ];

  for (const { name, args, fixture } of cases) {
    it(`reads a ${name} back field for field`, async () => {
      answer = encodeObject(fixture);
      const run = await kubectl([...args, '-o', 'json', '--show-managed-fields']);
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject(fixture);
      expect(requests.at(-1)).toContain(PROTOBUF);
    });
  }

  it('reads a list of Events back field for field', async () => {
    answer = encodeList('v1', 'Event', [EVENT]);
    const run = await kubectl(['events', '-o', 'json']);
    expect(run.stderr).toBe('');
    const { items } = JSON.parse(run.stdout) as { items: Untyped[] };
    const { managedFields, ...meta } = EVENT.metadata;
    void managedFields;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ ...EVENT, metadata: meta });
  });
});
