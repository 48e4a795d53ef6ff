import { describe, expect, it } from 'vitest';
import type { PodRuntime } from '../src/cluster/kubelet.js';
import {
  ACCESS_LOG_LINE_BYTES,
  FS_BASE_BYTES,
  RequestMetrics,
  type KubeState,
} from '../src/cluster/metrics.js';

/** One running pod of Deployment web with an app container and a sidecar, as the kubelet keeps it. */
function state(): KubeState {
  const runtime = {
    uid: 'uid-1',
    namespace: 'shop',
    name: 'web-6d4f9c-abcde',
    containers: [{ name: 'web' }, { name: 'proxy' }],
    phase: 'running',
    startedAtMs: Date.now() - 10_000,
  } as unknown as PodRuntime;
  return {
    deployments: [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: 'shop' },
        spec: { replicas: 3 },
        status: { replicas: 3, readyReplicas: 2, availableReplicas: 1 },
      },
    ],
    pods: [],
    runtimes: [runtime],
  };
}

function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  if (!line) throw new Error(`no ${series} in\n${text}`);
  return Number(line.slice(series.length + 1));
}

function serve(metrics: RequestMetrics, count: number): void {
  for (let i = 0; i < count; i++)
    metrics.record({
      namespace: 'shop',
      service: 'web',
      version: 'v1',
      pod: 'web-6d4f9c-abcde',
      code: 200,
      seconds: 0.01,
    });
}

describe('simulated cAdvisor and kube-state metrics', () => {
  it('exposes container_fs_usage_bytes per container, the app container growing with its access log', () => {
    const metrics = new RequestMetrics();
    const app =
      'container_fs_usage_bytes{namespace="shop",pod="web-6d4f9c-abcde",container="web",device="/dev/vda1"}';
    const sidecar =
      'container_fs_usage_bytes{namespace="shop",pod="web-6d4f9c-abcde",container="proxy",device="/dev/vda1"}';
    const before = metrics.render(state());
    expect(before).toContain('# TYPE container_fs_usage_bytes gauge');
    expect(sample(before, app)).toBeGreaterThanOrEqual(FS_BASE_BYTES);
    // The same pod reads the same between scrapes (no noise a gate would mistake for growth).
    expect(sample(metrics.render(state()), app)).toBe(sample(before, app));

    serve(metrics, 25);
    const after = metrics.render(state());
    expect(sample(after, app) - sample(before, app)).toBe(25 * ACCESS_LOG_LINE_BYTES);
    expect(sample(after, sidecar)).toBe(sample(before, sidecar));
  });

  it('leaves out containers that have not started', () => {
    const pulling = state();
    (pulling.runtimes[0] as { phase: string }).phase = 'errImagePull';
    expect(new RequestMetrics().render(pulling)).not.toMatch(/^container_fs_usage_bytes\{/m);
    expect(new RequestMetrics().render(state())).toMatch(/^container_fs_usage_bytes\{/m);
  });

  it('tells desired, ready and available replicas apart, as kube-state-metrics does', () => {
    const text = new RequestMetrics().render(state());
    expect(sample(text, 'kube_deployment_spec_replicas{namespace="shop",deployment="web"}')).toBe(3);
    expect(sample(text, 'kube_deployment_status_replicas_ready{namespace="shop",deployment="web"}')).toBe(2);
    expect(sample(text, 'kube_deployment_status_replicas_available{namespace="shop",deployment="web"}')).toBe(
      1,
    );
  });
});
