/**
 * NGINX Ingress: the primary Ingress (the user's) is never edited. The canary is a second Ingress,
 * `<ingress>-canary`, that cd-actions creates beside it with the same rules pointed at the canary
 * Service and the `canary-*` annotations that carry the weight and the header route. Removing it
 * (release) returns NGINX to the primary alone.
 */
import { INGRESSES, type KubeObjects } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import {
  describeWeights,
  forReplace,
  sameWeights,
  type HeaderRoute,
  type RouteState,
  type RouterOptions,
  type TrafficRouter,
  type VerifyResult,
  type Weights,
} from './router.js';
import { awaitPropagation } from './propagation.js';

const A = 'nginx.ingress.kubernetes.io/';

export function canaryIngressName(ingress: string): string {
  return `${ingress}-canary`.slice(0, 253);
}

interface IngressBackend {
  service?: { name?: string };
}
interface IngressSpec {
  defaultBackend?: IngressBackend;
  rules?: { host?: string; http?: { paths?: { backend?: IngressBackend }[] } }[];
  tls?: unknown;
}

function backendsOf(spec: IngressSpec): IngressBackend[] {
  return [
    ...(spec.defaultBackend ? [spec.defaultBackend] : []),
    ...(spec.rules ?? []).flatMap((r) => (r.http?.paths ?? []).map((p) => p.backend ?? {})),
  ];
}

export class NginxCanaryRouter implements TrafficRouter {
  readonly kind = 'nginx' as const;
  readonly ref = INGRESSES;
  /** The Ingress the weights live in: the canary one. */
  readonly name: string;
  private readonly objects: KubeObjects;
  private readonly namespace: string;
  private readonly primary: string;
  private readonly stable: { service: string; version: string };
  private readonly canary: { service: string; version: string };

  constructor(o: RouterOptions) {
    this.objects = o.objects;
    this.primary = o.routeName ?? o.service;
    this.name = canaryIngressName(this.primary);
    const entries = Object.entries(o.backends ?? {});
    const stable = entries.find(([service]) => service === o.service);
    const canary = entries.find(([service]) => service !== o.service);
    if (!stable || !canary) throw new Error('the nginx router needs the stable and the canary Service');
    this.stable = { service: stable[0], version: stable[1] };
    this.canary = { service: canary[0], version: canary[1] };
    this.namespace = o.namespace;
  }

  describe(): string {
    return `Ingress ${this.namespace}/${this.name} (NGINX canary of ${this.primary})`;
  }

  private state(object: KubeObject, exists: boolean): RouteState {
    const a = exists ? (object.metadata.annotations ?? {}) : {};
    const weight = Math.min(100, Math.max(0, Number(a[`${A}canary-weight`] ?? 0) || 0));
    const byHeader = a[`${A}canary-by-header`];
    const exact = a[`${A}canary-by-header-value`];
    const pattern = a[`${A}canary-by-header-pattern`];
    const header: HeaderRoute | undefined =
      byHeader && (exact !== undefined || pattern !== undefined)
        ? {
            header: byHeader,
            match: exact !== undefined ? 'exact' : 'regex',
            value: exact ?? pattern!,
            to: this.canary.version,
          }
        : undefined;
    return {
      weights: { [this.stable.version]: 100 - weight, [this.canary.version]: weight },
      ...(header ? { header } : {}),
      resourceVersion: exists ? (object.metadata.resourceVersion as string) : '',
      object,
    };
  }

  /** Undefined without the primary Ingress; all traffic on stable while there is no canary Ingress. */
  async getWeights(): Promise<RouteState | undefined> {
    const canary = await this.objects.get<KubeObject>(INGRESSES, this.namespace, this.name);
    if (canary) return this.state(canary, true);
    const primary = await this.objects.get<KubeObject>(INGRESSES, this.namespace, this.primary);
    return primary ? this.state(primary, false) : undefined;
  }

  /** An empty resourceVersion creates the canary Ingress from the primary one. */
  async setWeights(
    weights: Weights,
    resourceVersion: string,
    header?: HeaderRoute | null,
  ): Promise<RouteState> {
    const weight = weights[this.canary.version] ?? 0;
    if (!Number.isInteger(weight) || weight < 0 || weight > 100)
      throw new Error(`${this.describe()}: weight ${weight} is not a whole percentage`);
    const current = resourceVersion
      ? await this.objects.mustGet<KubeObject>(INGRESSES, this.namespace, this.name)
      : undefined;
    const body = current ? forReplace(current, resourceVersion) : await this.fromPrimary();
    const annotations = (body.metadata.annotations ??= {});
    annotations[`${A}canary`] = 'true';
    annotations[`${A}canary-weight`] = String(weight);
    if (header !== undefined) {
      for (const key of ['canary-by-header', 'canary-by-header-value', 'canary-by-header-pattern'])
        delete annotations[`${A}${key}`];
      if (header) {
        annotations[`${A}canary-by-header`] = header.header;
        if (header.match === 'exact') annotations[`${A}canary-by-header-value`] = header.value;
        else
          annotations[`${A}canary-by-header-pattern`] =
            header.match === 'prefix'
              ? `^${header.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`
              : header.value;
      }
    }
    const stored = current
      ? await this.objects.replace<KubeObject>(INGRESSES, this.namespace, body)
      : await this.objects.create<KubeObject>(INGRESSES, this.namespace, body);
    return this.state(stored, true);
  }

  private async fromPrimary(): Promise<KubeObject> {
    const primary = await this.objects.mustGet<KubeObject>(INGRESSES, this.namespace, this.primary);
    const spec = structuredClone(primary.spec ?? {}) as IngressSpec;
    const backends = backendsOf(spec).filter((b) => b.service?.name === this.stable.service);
    if (backends.length === 0)
      throw new Error(
        `Ingress ${this.namespace}/${this.primary} sends nothing to Service ${this.stable.service}`,
      );
    for (const b of backends) b.service!.name = this.canary.service;
    delete spec.tls; // the primary terminates TLS; NGINX takes it from there for the canary too
    return {
      apiVersion: primary.apiVersion,
      kind: 'Ingress',
      metadata: {
        name: this.name,
        namespace: this.namespace,
        labels: { 'app.kubernetes.io/managed-by': 'cd-actions' },
        annotations: Object.fromEntries(
          Object.entries(primary.metadata.annotations ?? {}).filter(
            ([k]) => k === 'kubernetes.io/ingress.class',
          ),
        ),
      },
      spec: { ...spec },
    };
  }

  /** Reads the weights back; once they are right, allows the controller its rate-limited sync before saying so. */
  async verify(weights: Weights, deadline: number, signal?: AbortSignal): Promise<VerifyResult> {
    const state = await this.getWeights();
    const seen = state?.weights ?? {};
    return sameWeights(seen, weights)
      ? {
          ok: true,
          detail: `${this.describe()} reads back ${describeWeights(seen)}${await awaitPropagation('ingress-nginx', deadline, signal)}`,
        }
      : {
          ok: false,
          detail: `${this.describe()} reads back ${describeWeights(seen)}, expected ${describeWeights(weights)}`,
        };
  }

  /** Removes the canary Ingress once traffic is back on one version. */
  async release(_version: string, signal?: AbortSignal): Promise<void> {
    await this.objects.delete(INGRESSES, this.namespace, this.name, undefined, signal ? { signal } : {});
  }
}
