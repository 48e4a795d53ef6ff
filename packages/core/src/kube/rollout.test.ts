import { describe, expect, it } from 'vitest';
import { judgeDeployment, type Deployment } from './rollout.js';

function deployment(
  conditions: { type: string; status: string; reason?: string; message?: string }[],
): Deployment {
  return {
    metadata: { name: 'web', generation: 2 },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [] } } },
    status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 3, conditions },
  };
}

describe('judgeDeployment', () => {
  it('fails at once when the cluster refuses the pods (ReplicaFailure), with reason and message', () => {
    const refused = deployment([
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message:
          'pods "web-6d9f-" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
      },
    ]);
    expect(judgeDeployment(refused)).toEqual({
      failed:
        'ReplicaFailure: FailedCreate: pods "web-6d9f-" is forbidden: violates PodSecurity "restricted:latest": runAsNonRoot != true',
    });
  });

  it('leaves an exceeded quota to the progress deadline, since old pods going can clear it', () => {
    const quota = deployment([
      {
        type: 'ReplicaFailure',
        status: 'True',
        reason: 'FailedCreate',
        message:
          'pods "web-6d9f-" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=4, limited: pods=4',
      },
    ]);
    expect(judgeDeployment(quota)).toBeUndefined();
  });

  it('is in progress while pods are being updated and done when all are', () => {
    const d = deployment([]);
    expect(judgeDeployment(d)).toBeUndefined();
    d.status = { ...d.status, updatedReplicas: 3 };
    expect(judgeDeployment(d)).toEqual({ done: true });
  });
});
