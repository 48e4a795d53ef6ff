/**
 * What routers that keep weights inside one object (Istio VirtualService, Gateway API HTTPRoute)
 * share: read the object, map weights out of it and into a copy, PUT the copy with the
 * resourceVersion precondition, read back.
 */
import type { KubeObjects, ResourceRef } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import { awaitPropagation } from './propagation.js';
import {
  describeWeights,
  forReplace,
  sameWeights,
  type HeaderRoute,
  type RouteKind,
  type RouteState,
  type TrafficRouter,
  type VerifyResult,
  type Weights,
} from './router.js';

export interface WeightCodec {
  read(object: KubeObject): Weights;
  /** The header route cd-actions manages in the object, if it holds one. */
  readHeader(object: KubeObject): HeaderRoute | undefined;
  /** Removes `version`'s weight-0 entry from the weighted rule; answers whether it changed anything. */
  drop(object: KubeObject, version: string): boolean;
  /**
   * `object` changed to send `weights` (and the header route: null removes it, undefined leaves
   * it); throws when the object cannot express them.
   */
  write(object: KubeObject, weights: Weights, header?: HeaderRoute | null): KubeObject;
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
    const header = this.codec.readHeader(object);
    return {
      weights: this.codec.read(object),
      ...(header ? { header } : {}),
      resourceVersion: object.metadata.resourceVersion as string,
      object,
    };
  }

  async getWeights(): Promise<RouteState | undefined> {
    const object = await this.objects.get<KubeObject>(this.ref, this.namespace, this.name);
    return object ? this.state(object) : undefined;
  }

  async setWeights(
    weights: Weights,
    resourceVersion: string,
    header?: HeaderRoute | null,
  ): Promise<RouteState> {
    const live = await this.objects.mustGet<KubeObject>(this.ref, this.namespace, this.name);
    const body = this.codec.write(forReplace(live, resourceVersion), weights, header);
    return this.state(await this.objects.replace<KubeObject>(this.ref, this.namespace, body));
  }

  async release(version: string, signal?: AbortSignal): Promise<void> {
    const live = await this.objects.mustGet<KubeObject>(
      this.ref,
      this.namespace,
      this.name,
      signal ? { signal } : {},
    );
    const body = forReplace(live, live.metadata.resourceVersion as string);
    if ((this.codec.read(body)[version] ?? 0) > 0)
      throw new Error(
        `${this.describe()} still sends ${version} traffic: ${describeWeights(this.codec.read(body))}`,
      );
    if (this.codec.drop(body, version))
      await this.objects.replace(this.ref, this.namespace, body, signal ? { signal } : {});
  }

  /** Reads the weights back; once they are right, allows the mesh its push before saying so. */
  async verify(weights: Weights, deadline: number, signal?: AbortSignal): Promise<VerifyResult> {
    const live = await this.objects.mustGet<KubeObject>(this.ref, this.namespace, this.name);
    const seen = this.codec.read(live);
    return sameWeights(seen, weights)
      ? {
          ok: true,
          detail: `${this.describe()} reads back ${describeWeights(seen)}${await awaitPropagation('mesh', deadline, signal)}`,
        }
      : {
          ok: false,
          detail: `${this.describe()} reads back ${describeWeights(seen)}, expected ${describeWeights(weights)}`,
        };
  }
}
