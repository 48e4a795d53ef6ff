/**
 * deploy-blue-green (Service selector route) on any cluster: the committed bundle against the
 * target's kubeconfig, under steady load; the route and the colours read back through the API, and
 * failed requests counted in Prometheus where the target has one.
 */
import { describe, expect } from 'vitest';
import type { ActionResult } from '../../../packages/sandbox/src/harness.js';
import {
  deploymentYaml,
  promValue,
  readyImages,
  recordOf,
  runOn,
  serviceYaml,
  startLoad,
  templateImage,
} from './cluster.js';
import { check, useTarget, type Target } from './target.js';

const FILE = import.meta.filename;
let target: Target;

useTarget(FILE, async (started) => {
  target = started;
  await startLoad(target, 'web');
});

function deploy(
  version: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionResult> {
  const manifest = `${deploymentYaml(target, { name: 'web', version, env, versionLabel: false })}---\n${serviceYaml('web')}`;
  return runOn(
    target,
    'deploy-blue-green',
    { 'k8s/app.yaml': manifest },
    {
      manifests: 'k8s/app.yaml',
      'pre-switch-duration': '3s',
      'verify-duration': '5s',
      'check-interval': '1s',
      ...inputs,
    },
  );
}

async function liveService(): Promise<{ color?: string; record: Record<string, unknown> }> {
  const service = await target.core.readNamespacedService({ name: 'web', namespace: target.namespace });
  return { color: service.spec?.selector?.version, record: recordOf(service) };
}

/** The image of a colour's Deployment and the images of its Ready pods. */
async function imagesOf(color: string): Promise<{ template?: string; ready: string[] }> {
  return {
    template: await templateImage(target, `web-${color}`),
    ready: (await readyImages(target, 'web')).filter(Boolean),
  };
}

/**
 * 5xx answers (or no answer, which the load counts as 5xx) on Service web over the last `seconds`,
 * once Prometheus has scraped past now; and how many requests there were, so that "none failed"
 * cannot pass on no traffic.
 */
async function failedRequests(seconds: number): Promise<{ failed: number; total: number }> {
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const selector = `namespace="${target.namespace}",service="web"`;
  const range = `${Math.ceil(seconds)}s`;
  const failed = await promValue(
    target,
    `sum(increase(http_requests_total{${selector},code=~"5.."}[${range}])) or vector(0)`,
  );
  const total = await promValue(target, `sum(increase(http_requests_total{${selector}}[${range}]))`);
  return { failed, total };
}

const postSwitch = (color: string): string =>
  `- { kind: http, name: live-serves-new, via: service-proxy, service: web, path: /, json-path: $.version, equals: ${color}, critical: true }`;
const preSwitch =
  '- { kind: http, name: preview, via: service-proxy, service: web-preview, path: /, critical: true }';

describe('deploy-blue-green on any cluster', () => {
  check(FILE, 'a first deploy brings up blue and points the live Service at it', [], async () => {
    const result = await deploy('1.0.0', {});
    expect(result.exitCode, result.log).toBe(0);
    expect(result.outputs).toMatchObject({
      'active-color': 'blue',
      switched: 'true',
      'rolled-back': 'false',
    });
    const live = await liveService();
    expect(live.color).toBe('blue');
    expect(live.record).toMatchObject({
      strategy: 'blue-green',
      phase: 'succeeded',
      stable: { color: 'blue' },
    });
  });

  check(
    FILE,
    'a healthy green is checked through its preview, switched to, and confirmed live',
    [],
    async () => {
      const result = await deploy('2.0.0', {
        'preview-service': 'web-preview',
        'pre-switch-checks': preSwitch,
        'post-switch-checks': postSwitch('green'),
      });
      expect(result.exitCode, result.log).toBe(0);
      expect(result.outputs).toMatchObject({
        'active-color': 'green',
        'previous-color': 'blue',
        switched: 'true',
      });
      expect((await liveService()).color).toBe('green');
      expect((await imagesOf('green')).template).toBe(target.image('2.0.0'));
      expect((await imagesOf('green')).ready).toContain(target.image('2.0.0'));
    },
  );

  check(FILE, 'the switch to a healthy colour fails no request', ['prometheus'], async () => {
    const started = Date.now();
    const result = await deploy('3.0.0', { 'post-switch-checks': postSwitch('blue') });
    expect(result.exitCode, result.log).toBe(0);
    expect((await liveService()).color).toBe('blue');
    const { failed, total } = await failedRequests((Date.now() - started) / 1000);
    expect(total).toBeGreaterThan(0);
    expect(failed).toBe(0);
  });

  check(FILE, 'a colour that fails its pre-switch check is never switched to', [], async () => {
    const before = await liveService();
    const result = await deploy(
      '1.0.0',
      { 'preview-service': 'web-preview', 'pre-switch-checks': preSwitch },
      { SANDBOX_ERROR_RATE: '1' },
    );
    expect(result.exitCode, result.log).toBe(1);
    expect(result.outputs.switched).toBe('false');
    expect(result.errors.join('\n')).toContain('pre-switch checks did not pass');
    expect((await liveService()).color).toBe(before.color);
    expect((await imagesOf(before.color!)).template).toBe(target.image('3.0.0'));
  });

  check(FILE, 'a colour that fails after the switch is switched back', [], async () => {
    const before = await liveService();
    const result = await deploy(
      '1.0.0',
      {
        'post-switch-checks':
          '- { kind: http, name: live-ok, via: service-proxy, service: web, path: /, critical: true }',
      },
      { SANDBOX_ERROR_RATE: '1' },
    );
    expect(result.exitCode, result.log).toBe(1);
    expect(result.outputs).toMatchObject({ switched: 'true', 'rolled-back': 'true' });
    expect((await liveService()).color).toBe(before.color);
  });
});
