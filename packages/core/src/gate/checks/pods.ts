/**
 * One sample of a pods check: the Deployment (or the pods of a selector) fully ready, restarts
 * not growing since the gate began, and no pod in CrashLoopBackOff or ImagePullBackOff. The
 * last is fatal: a crash loop does not heal while a gate watches, so it fails the gate at once.
 */
import type { Kube } from '../../kube/kube.js';
import { DEPLOYMENTS, KubeObjects, PODS } from '../../kube/objects.js';
import { desiredReplicas, judgePod, type Deployment, type Pod } from '../../kube/rollout.js';
import type { PodsCheck, Sample } from '../types.js';

function selectorOf(deployment: Deployment): string {
  return Object.entries(deployment.spec.selector.matchLabels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

function restartsOf(pod: Pod): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((cs) => cs.restartCount ?? 0));
}

function isReady(pod: Pod): boolean {
  const statuses = pod.status?.containerStatuses ?? [];
  return pod.status?.phase === 'Running' && statuses.length > 0 && statuses.every((cs) => cs.ready === true);
}

export function podsTarget(check: PodsCheck, namespace: string): string {
  const ns = check.namespace ?? namespace;
  return check.deployment ? `Deployment ${ns}/${check.deployment}` : `pods ${ns}/${check.selector ?? ''}`;
}

export interface PodsSampler {
  sample(signal?: AbortSignal): Promise<Sample>;
}

export function createPodsSampler(check: PodsCheck, kube: Kube, gateNamespace: string): PodsSampler {
  const objects = new KubeObjects(kube);
  const namespace = check.namespace ?? gateNamespace;
  /** Restart counts when the gate first saw each pod: growth from there is what counts. */
  const baseline = new Map<string, number>();
  let first = true;

  return {
    async sample(signal) {
      const call = { deadlineMs: 10_000, ...(signal ? { signal } : {}) };
      let selector = check.selector ?? '';
      let desired: number | undefined;
      let deployment: Deployment | undefined;
      if (check.deployment) {
        deployment = await objects.get<Deployment>(DEPLOYMENTS, namespace, check.deployment, call);
        if (!deployment)
          return { outcome: 'fail', detail: `Deployment ${namespace}/${check.deployment} not found` };
        selector = selectorOf(deployment);
        desired = desiredReplicas(deployment);
      }
      const pods = (await objects.list<Pod>(PODS, namespace, { labelSelector: selector }, call)).items.filter(
        (pod) => !pod.metadata.deletionTimestamp,
      );
      const problems: string[] = [];
      let grown = 0;
      for (const pod of pods) {
        const restarts = restartsOf(pod);
        if (!baseline.has(pod.metadata.name)) baseline.set(pod.metadata.name, first ? restarts : 0);
        const since = restarts - (baseline.get(pod.metadata.name) ?? 0);
        const fatal = judgePod(pod, baseline.get(pod.metadata.name) ?? 0);
        if (fatal) {
          first = false;
          return {
            outcome: 'fail',
            fatal: true,
            value: pods.filter(isReady).length,
            detail: `pod ${pod.metadata.name}: ${fatal}`,
          };
        }
        if (since > check.maxRestarts)
          problems.push(`pod ${pod.metadata.name} restarted ${since} times during the gate`);
        grown += Math.max(0, since);
      }
      first = false;
      const ready = pods.filter(isReady).length;
      const want = desired ?? pods.length;
      const status = deployment?.status;
      const deploymentReady =
        deployment === undefined ||
        ((status?.readyReplicas ?? 0) >= want &&
          (status?.updatedReplicas ?? 0) >= want &&
          (status?.replicas ?? 0) <= want);
      if (want === 0 || pods.length === 0) problems.push('no pods');
      if (ready < want || !deploymentReady) problems.push(`${ready}/${want} ready`);
      const detail = `${ready}/${want} ready, ${grown} restarts during the gate`;
      return problems.length > 0
        ? { outcome: 'fail', value: ready, detail: `${problems.join('; ')} (${detail})` }
        : { outcome: 'ok', value: ready, detail };
    },
  };
}
