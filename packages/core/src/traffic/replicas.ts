/**
 * No mesh, no Ingress: one Service selects the pods of both versions, so each version's share of
 * the traffic is its share of the ready pods (as Argo Rollouts' basic canary). A weight is written
 * as the canary's replica count beside the untouched stable; the share is only approximated (5%
 * beside 4 stable pods is 1 pod in 5, 20%), and what it really is is what `getWeights` answers.
 * All traffic to the canary cannot be expressed without touching the stable, so 100% is promotion.
 */
import { DEPLOYMENTS, type KubeObjects } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import { sleep } from '../net/retry.js';
import { awaitPropagation } from './propagation.js';
import {
  describeWeights,
  type HeaderRoute,
  type RouteState,
  type RouterOptions,
  type TrafficRouter,
  type VerifyResult,
  type Weights,
} from './router.js';

interface Deployment extends KubeObject {
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; replicas?: number };
}

/** Canary pods beside `stable` pods for a share of `weight` percent: at least one while it is above 0. */
export function canaryReplicas(weight: number, stable: number): number {
  if (weight <= 0) return 0;
  return Math.max(1, Math.ceil((weight * stable) / (100 - weight)));
}

export function shareOf(canary: number, stable: number): number {
  return canary + stable === 0 ? 0 : Math.round((100 * canary) / (canary + stable));
}

export class ReplicaRatioRouter implements TrafficRouter {
  readonly kind = 'replicas' as const;
  readonly ref = DEPLOYMENTS;
  /** The canary Deployment: its replica count is the weight. */
  readonly name: string;
  private readonly objects: KubeObjects;
  private readonly namespace: string;
  private readonly stable: { deployment: string; version: string };
  private readonly canary: { deployment: string; version: string };

  constructor(o: RouterOptions) {
    const [stable, canary] = Object.entries(o.deployments ?? {});
    if (!stable || !canary) throw new Error('the replicas router needs the stable and the canary Deployment');
    this.objects = o.objects;
    this.namespace = o.namespace;
    this.stable = { version: stable[0], deployment: stable[1] };
    this.canary = { version: canary[0], deployment: canary[1] };
    this.name = this.canary.deployment;
  }

  describe(): string {
    return `replica ratio of Deployments ${this.stable.deployment} and ${this.canary.deployment} behind one Service`;
  }

  private async read(): Promise<{ stable?: Deployment; canary?: Deployment }> {
    const [stable, canary] = await Promise.all([
      this.objects.get<Deployment>(DEPLOYMENTS, this.namespace, this.stable.deployment),
      this.objects.get<Deployment>(DEPLOYMENTS, this.namespace, this.canary.deployment),
    ]);
    return { ...(stable ? { stable } : {}), ...(canary ? { canary } : {}) };
  }

  private weightsOf(canary: number, stable: number): Weights {
    const share = shareOf(canary, stable);
    return { [this.stable.version]: 100 - share, [this.canary.version]: share };
  }

  /** The share the replica counts give; undefined without a stable Deployment. */
  async getWeights(): Promise<RouteState | undefined> {
    const { stable, canary } = await this.read();
    if (!stable) return undefined;
    const object = canary ?? stable;
    return {
      weights: this.weightsOf(canary?.spec?.replicas ?? 0, stable.spec?.replicas ?? 1),
      resourceVersion: (canary?.metadata.resourceVersion as string | undefined) ?? '',
      object,
    };
  }

  async setWeights(
    weights: Weights,
    resourceVersion: string,
    header?: HeaderRoute | null,
  ): Promise<RouteState> {
    if (header) throw new Error(`${this.describe()}: a Service alone cannot route by header`);
    const weight = weights[this.canary.version] ?? 0;
    if (weight >= 100)
      throw new Error(`${this.describe()}: all traffic to the canary is a promotion, not a weight`);
    const stable = await this.objects.mustGet<Deployment>(
      DEPLOYMENTS,
      this.namespace,
      this.stable.deployment,
    );
    const replicas = canaryReplicas(weight, stable.spec?.replicas ?? 1);
    const stored = await this.objects.patch<Deployment>(
      DEPLOYMENTS,
      this.namespace,
      this.canary.deployment,
      { metadata: { resourceVersion }, spec: { replicas } },
      'merge',
      { idempotent: true },
    );
    return {
      weights: this.weightsOf(replicas, stable.spec?.replicas ?? 1),
      resourceVersion: stored.metadata.resourceVersion as string,
      object: stored,
    };
  }

  /** Waits until the ready pods give the share (the Service balances over ready endpoints). */
  async verify(weights: Weights, deadline: number, signal?: AbortSignal): Promise<VerifyResult> {
    for (;;) {
      const { stable, canary } = await this.read();
      const ready = this.weightsOf(canary?.status?.readyReplicas ?? 0, stable?.status?.readyReplicas ?? 0);
      const want = this.weightsOf(canary?.spec?.replicas ?? 0, stable?.spec?.replicas ?? 1);
      const detail = `ready pods give ${describeWeights(ready)}`;
      const asked = weights[this.canary.version] ?? 0;
      if (
        shareOf(canaryReplicas(asked, stable?.spec?.replicas ?? 1), stable?.spec?.replicas ?? 1) !==
        want[this.canary.version]
      )
        return {
          ok: false,
          detail: `${detail}; the replica counts give ${describeWeights(want)}, not ${describeWeights(weights)}`,
        };
      // The Service splits by its endpoints, which kube-proxy on each node programs late.
      if (ready[this.canary.version] === want[this.canary.version])
        return { ok: true, detail: `${detail}${await awaitPropagation('kube-proxy', deadline, signal)}` };
      if (Date.now() >= deadline) return { ok: false, detail };
      await sleep(250, signal);
    }
  }
}
