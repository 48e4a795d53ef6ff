/**
 * What routers that keep weights inside one object (Istio VirtualService, Gateway API HTTPRoute)
 * share: read the object, map weights out of it and into a copy, PUT the copy with the
 * resourceVersion precondition, read back.
 */
import type { KubeObjects, ResourceRef } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import {
  describeWeights,
  forReplace,
  sameWeights,
  type RouteKind,
  type RouteState,
  type TrafficRouter,
  type VerifyResult,
  type Weights,
} from './router.js';

export interface WeightCodec {
  read(object: KubeObject): Weights;
  /** A copy of `object` sending `weights`; throws when the object cannot express them. */
  write(object: KubeObject, weights: Weights): KubeObject;
}

export class WeightedObjectRouter implements TrafficRouter {
  constructor(
    readonly kind: RouteKind,
    readonly ref: ResourceRef,
    readonly name: string,
    private readonly objects: KubeObjects,
    private readonly namespace: string,
    private readonly codec: WeightCodec,
  ) {}

  describe(): string {
    return `${this.ref.kind} ${this.namespace}/${this.name}`;
  }

  private state(object: KubeObject): RouteState {
    return {
      weights: this.codec.read(object),
      resourceVersion: object.metadata.resourceVersion as string,
      object,
    };
  }

  async getWeights(): Promise<RouteState | undefined> {
    const object = await this.objects.get<KubeObject>(this.ref, this.namespace, this.name);
    return object ? this.state(object) : undefined;
  }

  async setWeights(weights: Weights, resourceVersion: string): Promise<RouteState> {
    const live = await this.objects.mustGet<KubeObject>(this.ref, this.namespace, this.name);
    const body = this.codec.write(forReplace(live, resourceVersion), weights);
    return this.state(await this.objects.replace<KubeObject>(this.ref, this.namespace, body));
  }

  async verify(weights: Weights): Promise<VerifyResult> {
    const live = await this.objects.mustGet<KubeObject>(this.ref, this.namespace, this.name);
    const seen = this.codec.read(live);
    return sameWeights(seen, weights)
      ? { ok: true, detail: `${this.describe()} reads back ${describeWeights(seen)}` }
      : {
          ok: false,
          detail: `${this.describe()} reads back ${describeWeights(seen)}, expected ${describeWeights(weights)}`,
        };
  }
}
