/** Manifests and sandbox set-up shared by the e2e tests. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../packages/sandbox/src/sandbox.js';

export const FAST_TIMINGS = { podStartMs: 50, readyAfterMs: 100, crashRestartMs: 150, progressCheckMs: 200 };

export function startTestSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  return startSandbox({ rps: 0, timings: FAST_TIMINGS, namespaces: ['shop', 'other'], ...options });
}

export interface AppOptions {
  name?: string;
  namespace?: string;
  image?: string;
  replicas?: number;
  env?: Record<string, string>;
  progressDeadlineSeconds?: number;
}

export function deploymentManifest(o: AppOptions = {}): string {
  const name = o.name ?? 'web';
  const env = Object.entries(o.env ?? {})
    .map(([k, v]) => `            - name: ${k}\n              value: "${v}"`)
    .join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${o.namespace ? `  namespace: ${o.namespace}\n` : ''}  labels:
    app: ${name}
spec:
  replicas: ${o.replicas ?? 3}
  progressDeadlineSeconds: ${o.progressDeadlineSeconds ?? 600}
  selector:
    matchLabels:
      app: ${name}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  template:
    metadata:
      labels:
        app: ${name}
    spec:
      containers:
        - name: ${name}
          image: ${o.image ?? 'ghcr.io/acme/web:1.0.0'}
          ports:
            - containerPort: 8080
${env ? `          env:\n${env}\n` : ''}`;
}

export function serviceManifest(name = 'web'): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector:
    app: ${name}
  ports:
    - port: 80
      targetPort: 8080
`;
}

/** A workspace folder with the given files, as a checkout would have them. */
export async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'workspace-'));
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    await import('node:fs/promises').then((fs) => fs.mkdir(join(path, '..'), { recursive: true }));
    await writeFile(path, text);
  }
  return dir;
}
