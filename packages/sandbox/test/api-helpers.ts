/** Shared set-up for the API server tests: a store, faults, audit, the server and clients. */
import { request } from 'node:https';
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type V1ConfigMap,
  type V1Deployment,
} from '@kubernetes/client-node';
import { Store, type KubeObject } from '../src/store.js';
import { AuditLog, Faults } from '../src/faults.js';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../src/api/server.js';

/** Deep, untyped JSON as the tests read it from answers. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary answer shapes
export type Untyped = any;

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Untyped;
}

export interface TestApi {
  store: Store;
  faults: Faults;
  audit: AuditLog;
  api: ApiServer;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
  raw(
    method: string,
    path: string,
    options?: {
      body?: unknown;
      contentType?: string;
      token?: string | null;
      headers?: Record<string, string>;
    },
  ): Promise<RawAnswer>;
  stop(): Promise<void>;
}

export async function startTestApi(options: Partial<ApiServerOptions> = {}): Promise<TestApi> {
  const store = new Store();
  const faults = new Faults();
  const audit = new AuditLog();
  const api = await startApiServer({ store, faults, audit, bookmarkIntervalMs: 100, ...options });
  const kc = new KubeConfig();
  kc.loadFromString(api.kubeconfig());
  const ca = Buffer.from(api.caData, 'base64');
  const raw: TestApi['raw'] = (method, path, opts = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(path, api.url);
      const body =
        opts.body === undefined
          ? undefined
          : typeof opts.body === 'string'
            ? opts.body
            : JSON.stringify(opts.body);
      const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
      const token = opts.token === undefined ? api.adminToken : opts.token;
      if (token !== null) headers.Authorization = `Bearer ${token}`;
      if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
      const req = request(url, { method, headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  return {
    store,
    faults,
    audit,
    api,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
    raw,
    stop: () => api.stop(),
  };
}

export function deployment(
  name: string,
  namespace: string,
  image = 'nginx:1.0',
  replicas = 2,
): KubeObject & V1Deployment {
  const obj: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            { name: 'web', image, ports: [{ containerPort: 8080 }], env: [{ name: 'MODE', value: 'a' }] },
          ],
        },
      },
    },
  };
  return obj as KubeObject & V1Deployment;
}

export function configMap(
  name: string,
  namespace: string,
  data: Record<string, string>,
  labels: Record<string, string> = {},
): V1ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace, labels }, data };
}

/** The Status object client-node carries in an ApiException body (a JSON string). */
export interface StatusBody {
  kind: string;
  code: number;
  reason: string;
  message: string;
  details?: Untyped;
}

export function statusOf(error: unknown): StatusBody {
  const body = (error as { body?: unknown }).body;
  return (typeof body === 'string' ? JSON.parse(body) : body) as StatusBody;
}

export async function expectApiError(promise: Promise<unknown>): Promise<StatusBody> {
  try {
    await promise;
  } catch (error) {
    return statusOf(error);
  }
  throw new Error('expected the API call to fail');
}
