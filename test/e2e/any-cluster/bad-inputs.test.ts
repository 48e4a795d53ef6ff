/**
 * Bad input on any cluster: each action refuses it with an error that names the input, the value
 * and the accepted form, and nothing in the namespace was created or changed.
 */
import { describe, expect } from 'vitest';
import { deploymentYaml, runOn, serviceYaml } from './cluster.js';
import { check, useTarget, type Target } from './target.js';

const FILE = import.meta.filename;
let target: Target;

useTarget(FILE, (started) => {
  target = started;
});

/** Everything the actions could write in the namespace, by kind and name. */
async function objectsInNamespace(): Promise<string[]> {
  const namespace = target.namespace;
  const [deployments, services, configMaps] = await Promise.all([
    target.apps.listNamespacedDeployment({ namespace }),
    target.core.listNamespacedService({ namespace }),
    target.core.listNamespacedConfigMap({ namespace }),
  ]);
  return [
    ...deployments.items.map((d) => `Deployment/${d.metadata?.name}`),
    ...services.items.map((s) => `Service/${s.metadata?.name}`),
    // A real cluster puts its CA bundle in every namespace; it is not ours.
    ...configMaps.items
      .map((c) => `ConfigMap/${c.metadata?.name}`)
      .filter((n) => n !== 'ConfigMap/kube-root-ca.crt'),
  ].sort();
}

const files = (): Record<string, string> => ({
  'k8s/app.yaml': `${deploymentYaml(target, { name: 'web', version: '1.0.0' })}---\n${serviceYaml('web')}`,
});

const CASES: [string, string, Record<string, string>, RegExp][] = [
  ['deploy-rolling', 'timeout', { manifests: 'k8s/app.yaml', timeout: 'soon' }, /timeout.*"soon"/],
  ['deploy-blue-green', 'route', { manifests: 'k8s/app.yaml', route: 'linkerd' }, /route.*"linkerd"/],
  [
    'canary-step',
    'steps',
    { manifests: 'k8s/app.yaml', steps: '50,25,100' },
    /Input "steps": step 2: weight 25 does not increase on 50; weights must increase/,
  ],
];

describe('bad input on any cluster', () => {
  for (const [action, input, inputs, message] of CASES)
    check(FILE, `${action} refuses a bad ${input} before writing anything`, [], async () => {
      const result = await runOn(target, action, files(), inputs);
      expect(result.exitCode, result.log).toBe(1);
      expect(result.errors.join('\n')).toMatch(message);
      expect(await objectsInNamespace()).toEqual([]);
    });
});
