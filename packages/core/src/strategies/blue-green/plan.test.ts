import { describe, expect, it } from 'vitest';
import { fillChecks } from '../../gate/parse.js';
import { colorDeployment, otherColor } from './plan.js';
import type { KubeObject } from '../../manifests/manifests.js';

describe('blue-green plan', () => {
  it('makes the colour Deployment: own name, colour on selector, pods and object, no stale record', () => {
    const template: KubeObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'web',
        labels: { app: 'web' },
        annotations: { 'cd-actions.dev/record': '{}', team: 'shop' },
        resourceVersion: '9',
      },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'x:1' }] },
        },
      },
    };
    const d = colorDeployment(template, {
      name: 'web-green',
      namespace: 'shop',
      color: 'green',
      colorLabel: 'version',
    });
    expect(d.metadata).toEqual({
      name: 'web-green',
      namespace: 'shop',
      labels: { app: 'web', version: 'green' },
      annotations: { team: 'shop' },
    });
    expect(d.spec).toMatchObject({
      replicas: 2,
      selector: { matchLabels: { app: 'web', version: 'green' } },
      template: { metadata: { labels: { app: 'web', version: 'green' } } },
    });
    expect(otherColor('blue')).toBe('green');
  });

  it('fills ${color} and ${deployment} into every string of a checks document', () => {
    expect(
      fillChecks([{ kind: 'pods', deployment: '${deployment}', n: 1, q: 'v="${color}"' }], {
        color: 'green',
        deployment: 'web-green',
      }),
    ).toEqual([{ kind: 'pods', deployment: 'web-green', n: 1, q: 'v="green"' }]);
  });
});
