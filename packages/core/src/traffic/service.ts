/**
 * Blue-green by Service selector: the live Service selects one colour through its colour label,
 * so a switch is one selector change. It cannot split traffic; weights must be 0/100.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import type { Kube } from '../kube/kube.js';
import { ENDPOINTSLICES, PODS, resourcePath, SERVICES } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import { watchObjects, WatchTimeoutError } from '../kube/watch.js';
import { awaitPropagation } from './propagation.js';
import {
  describeWeights,
  forReplace,
  soleTarget,
  type HeaderRoute,
  type RouteState,
  type RouterOptions,
  type TrafficRouter,
  type VerifyResult,
  type Weights,
} from './router.js';

interface Service extends KubeObject {
  spec?: { selector?: Record<string, string> };
}

interface EndpointSlice extends KubeObject {
  endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name?: string } }[];
}

export function serviceWeights(service: Service, colorLabel: string): Weights {
  const color = service.spec?.selector?.[colorLabel];
  return color ? { [color]: 100 } : {};
}

export function selectorText(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The pods a slice lists as ready; an absent `ready` means ready, as the API defines it. */
export function readySlicePods(slice: EndpointSlice | undefined): string[] {
  return (slice?.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .map((e) => e.targetRef?.name)
    .filter((n): n is string => !!n);
}

export class ServiceSelectorRouter implements TrafficRouter {
  readonly kind = 'service' as const;
  readonly ref = SERVICES;
  readonly name: string;

  constructor(
    private readonly o: RouterOptions,
    private readonly kube: Pick<Kube, 'kc' | 'request'>,
  ) {
    this.name = o.service;
  }

  describe(): string {
    return `Service ${this.o.namespace}/${this.name} (selector ${this.o.colorLabel})`;
  }

  private state(service: Service): RouteState {
    return {
      weights: serviceWeights(service, this.o.colorLabel),
      resourceVersion: service.metadata.resourceVersion as string,
      object: service,
    };
  }

  async getWeights(): Promise<RouteState | undefined> {
    const service = await this.o.objects.get<Service>(SERVICES, this.o.namespace, this.name);
    return service ? this.state(service) : undefined;
  }

  async setWeights(
    weights: Weights,
    resourceVersion: string,
    header?: HeaderRoute | null,
  ): Promise<RouteState> {
    const target = soleTarget(weights);
    if (header) throw new Error(`${this.describe()} cannot route by header`);
    if (!target) {
      throw new Error(
        `${this.describe()} can only send all traffic to one colour; asked for ${describeWeights(weights)}`,
      );
    }
    const live = await this.o.objects.mustGet<Service>(SERVICES, this.o.namespace, this.name);
    const body = forReplace(live, resourceVersion) as Service;
    body.spec = { ...body.spec, selector: { ...body.spec?.selector, [this.o.colorLabel]: target } };
    return this.state(await this.o.objects.replace<Service>(SERVICES, this.o.namespace, body));
  }

  async verify(weights: Weights, deadline: number, signal?: AbortSignal): Promise<VerifyResult> {
    const target = soleTarget(weights);
    const service = await this.o.objects.mustGet<Service>(SERVICES, this.o.namespace, this.name);
    const seen = serviceWeights(service, this.o.colorLabel);
    if (!target || soleTarget(seen) !== target) {
      return {
        ok: false,
        detail: `read back ${describeWeights(seen)}, expected ${describeWeights(weights)}`,
      };
    }
    const pods = await this.o.objects.list<KubeObject>(PODS, this.o.namespace, {
      labelSelector: selectorText(service.spec?.selector ?? {}),
    });
    const wanted = new Set(pods.items.map((p) => p.metadata.name));
    // EndpointSlices are what kube-proxy routes by: the traffic moves once every ready endpoint in
    // the Service's slices is a pod of the target colour (judged on the whole set of slices) and
    // kube-proxy on every node has programmed them.
    let detail = 'no EndpointSlices seen';
    try {
      await watchObjects<KubernetesObject>({
        kube: this.kube,
        path: resourcePath(ENDPOINTSLICES, this.o.namespace),
        labelSelector: `kubernetes.io/service-name=${this.name}`,
        deadline,
        ...(signal ? { signal } : {}),
        what: `EndpointSlices of Service ${this.o.namespace}/${this.name} to list only ${target} pods as ready`,
        describe: () => detail,
        judge: (slices) => {
          const names = slices.flatMap((slice) => readySlicePods(slice as unknown as EndpointSlice));
          const stray = names.filter((n) => !wanted.has(n));
          detail = `${names.length - stray.length} ${target} pod(s) and ${stray.length} other pod(s) ready behind the Service`;
          return names.length > 0 && stray.length === 0 ? 'done' : undefined;
        },
      });
    } catch (error) {
      if (error instanceof WatchTimeoutError) return { ok: false, detail };
      throw error;
    }
    const allowed = await awaitPropagation('kube-proxy', deadline, signal);
    return { ok: true, detail: `selector ${this.o.colorLabel}=${target}; ${detail}${allowed}` };
  }
}
