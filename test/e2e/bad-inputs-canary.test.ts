/**
 * Bad input to canary-step: exit 1, a message that names the input (or the object) and what is
 * accepted, and not one write reaching the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runAction } from '../../packages/sandbox/src/harness.js';
import type { Sandbox } from '../../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../../packages/sandbox/src/store.js';
import {
  CANARY_ROLE,
  deploymentManifest,
  kind,
  serviceManifest,
  startTestSandbox,
  workspace,
} from './fixtures.js';

let sandbox: Sandbox;
let kubeconfig: string;
let ws: string;

beforeAll(async () => {
  sandbox = await startTestSandbox();
  kubeconfig = sandbox.kubeconfigFor(CANARY_ROLE);
  // A stable app with a Service, but no VirtualService, HTTPRoute or Ingress.
  sandbox.store.create(kind('Deployment'), parse(deploymentManifest({ namespace: 'shop' })) as KubeObject);
  sandbox.store.create(kind('Service'), {
    ...(parse(serviceManifest()) as KubeObject),
    metadata: { name: 'web', namespace: 'shop' },
  });
  ws = await workspace({
    'k8s/good.yaml': deploymentManifest({ image: 'ghcr.io/acme/web:2.0.0' }),
    'k8s/two.yaml': `${deploymentManifest()}---\n${deploymentManifest({ name: 'api' })}`,
  });
});
afterAll(async () => sandbox?.stop());

type Case = [title: string, inputs: Record<string, string>, input: string, mention: string];

const good = { manifests: 'k8s/good.yaml' };
const cases: Case[] = [
  ['an unknown router', { ...good, route: 'linkerd' }, 'route', 'one of istio, gateway-api, nginx, replicas'],
  [
    'weights that do not increase',
    { ...good, steps: '5,50,25,100' },
    'steps',
    'step 3: weight 25 does not increase on 50',
  ],
  [
    'a weight over 100',
    { ...good, steps: '5,50,150' },
    'steps',
    'step 3: weight "150" is not a whole percentage from 1 to 100',
  ],
  [
    'a weight that is not one of the steps',
    { ...good, weight: '30' },
    'weight',
    'one of the steps (5, 25, 50, 100)',
  ],
  [
    'a header route that cannot parse',
    { ...good, route: 'istio', 'header-route': 'canary' },
    'header-route',
    '"canary=true" (exact)',
  ],
  [
    'a header route with a regex that cannot compile',
    { ...good, route: 'istio', 'header-route': 'x-user=~(' },
    'header-route',
    'regular expression',
  ],
  [
    'a header route through a plain Service',
    { ...good, route: 'replicas', 'header-route': 'canary=true' },
    'header-route',
    'cannot',
  ],
  [
    'both a header route and a cookie route',
    { ...good, route: 'istio', 'header-route': 'canary=true', 'cookie-route': 'canary=always' },
    'cookie-route',
    'give one of them',
  ],
  [
    'a cookie route that is no cookie',
    { ...good, route: 'istio', 'cookie-route': 'canary=a;b' },
    'cookie-route',
    'such as "canary=always"',
  ],
  ['two Deployments in the manifests', { manifests: 'k8s/two.yaml' }, 'manifests', 'exactly one Deployment'],
  ['an app too long for <app>-canary', { ...good, app: `web-${'x'.repeat(54)}` }, 'app', '<name>-canary'],
  ['checks that are a mapping', { ...good, checks: 'kind: http' }, 'checks', 'list'],
  [
    'a step pause that is no duration',
    { ...good, steps: '- weight: 5\n  pause: soon\n- weight: 100' },
    'steps',
    'pause "soon" is not a duration',
  ],
  [
    'an istio route whose VirtualService does not exist',
    { ...good, route: 'istio' },
    'VirtualService',
    'does not exist',
  ],
  ['an nginx route whose Ingress does not exist', { ...good, route: 'nginx' }, 'Ingress', 'does not exist'],
  ['promote with no canary in progress', { app: 'web', action: 'promote' }, 'canary', 'nothing to promote'],
  [
    'abort of an app with no stable version',
    { app: 'shoes', action: 'abort' },
    'Deployment',
    'no canary to abort',
  ],
];

describe('canary-step bad input', () => {
  it.each(cases)('%s', async (_title, inputs, input, mention) => {
    const writes = sandbox.audit.writes({ succeededOnly: true }).length;
    const result = await runAction({
      action: 'canary-step',
      cwd: ws,
      inputs: { kubeconfig, namespace: 'shop', ...inputs },
    });
    expect(result.exitCode, result.log).toBe(1);
    const message = result.errors.join('\n');
    expect(message).toMatch(new RegExp(`\\b${input}\\b`));
    expect(message).toContain(mention);
    expect(sandbox.audit.writes({ succeededOnly: true }).length).toBe(writes);
  });
});
