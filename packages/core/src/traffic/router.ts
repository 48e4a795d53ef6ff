/**
 * One interface for every data plane that can move traffic between versions. A blue-green switch
 * is `setWeights({ green: 100, blue: 0 })` in one write, guarded by the resourceVersion the
 * caller read, so a concurrent change fails the write instead of being overwritten.
 */
import type { KubeObjects, ResourceRef } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';

/** Share of traffic per version (colour), in percent; they add up to 100 when anything is routed. */
export type Weights = Record<string, number>;

/**
 * A route that sends matching requests to one version whatever the weights (testers opting in
 * with a header). It is its own rule, owned and named by cd-actions, placed above the weighted one.
 */
export interface HeaderRoute {
  header: string;
  match: 'exact' | 'prefix' | 'regex';
  value: string;
  /** The version it sends to. */
  to: string;
}

export interface RouteState {
  weights: Weights;
  /** The managed header route, when the object holds one. */
  header?: HeaderRoute;
  /** The route object's resourceVersion when read: the precondition of the next write. */
  resourceVersion: string;
  object: KubeObject;
}

export interface VerifyResult {
  ok: boolean;
  /** What was seen last, in words, for the timeline and the error. */
  detail: string;
}

export interface TrafficRouter {
  readonly kind: RouteKind;
  /** The object that holds the routing, e.g. `Service shop/web`. */
  readonly ref: ResourceRef;
  readonly name: string;
  describe(): string;
  /** The routing as the cluster holds it; undefined when the route object does not exist. */
  getWeights(): Promise<RouteState | undefined>;
  /**
   * One write, preconditioned on `resourceVersion`; answers what the server stored. `header`
   * adds or replaces the managed header route in the same write, null removes it, undefined
   * leaves it as it is.
   */
  setWeights(weights: Weights, resourceVersion: string, header?: HeaderRoute | null): Promise<RouteState>;
  /** Reads the route back and waits (to `deadline`) until the data plane serves `weights`. */
  verify(weights: Weights, deadline: number, signal?: AbortSignal): Promise<VerifyResult>;
  /**
   * Removes what the router holds for a version that takes no traffic any more (a canary's
   * weight-0 destination, the canary Ingress), so no route points at objects about to go.
   */
  release?(version: string, signal?: AbortSignal): Promise<void>;
}

export type RouteKind = 'service' | 'istio' | 'gateway-api' | 'nginx' | 'replicas';
/** What a blue-green switch can use: all traffic to one colour in one write. */
export const SWITCH_ROUTES = ['service', 'istio', 'gateway-api'] as const;
/** What a canary can use: a weighted split (replicas approximates one by pod counts). */
export const CANARY_ROUTES = ['istio', 'gateway-api', 'nginx', 'replicas'] as const;

export interface RouterOptions {
  objects: KubeObjects;
  namespace: string;
  /** The live Service (selector switch, Istio host, or the base name of the per-colour Services). */
  service: string;
  /** The VirtualService or HTTPRoute; defaults to the Service's name. */
  routeName?: string;
  colorLabel: string;
  /**
   * Routers that send to one Service per version: Service name → version. Default: the
   * blue-green `<service>-<colour>` Services (Gateway API); Istio without it routes by subsets.
   */
  backends?: Record<string, string>;
  /** The replicas router: the Deployment of each version. */
  deployments?: Record<string, string>;
  /** The weighted rule cd-actions edits, by name (Istio http route name); default: the one without a match. */
  ruleName?: string;
}

/** The one version a set of weights sends everything to, or undefined for a split. */
export function soleTarget(weights: Weights): string | undefined {
  const entries = Object.entries(weights).filter(([, w]) => w > 0);
  return entries.length === 1 && entries[0]![1] === 100 ? entries[0]![0] : undefined;
}

export function describeWeights(weights: Weights): string {
  const entries = Object.entries(weights);
  return entries.length === 0 ? 'nothing routed' : entries.map(([v, w]) => `${v} ${w}%`).join(', ');
}

export function sameWeights(a: Weights, b: Weights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a[k] ?? 0) === (b[k] ?? 0));
}

/** Copy of a live object fit for a PUT: server-only fields dropped, resourceVersion kept. */
export function forReplace(object: KubeObject, resourceVersion: string): KubeObject {
  const copy = structuredClone(object);
  const { managedFields: _m, ...metadata } = copy.metadata;
  copy.metadata = { ...metadata, resourceVersion };
  delete copy.status;
  return copy;
}

export function describeHeaderRoute(h: HeaderRoute): string {
  const op = h.match === 'exact' ? '=' : h.match === 'prefix' ? '^=' : '=~';
  return `${h.header}${op}${h.value} → ${h.to}`;
}

export function sameHeaderRoute(a: HeaderRoute | undefined, b: HeaderRoute | undefined): boolean {
  if (!a || !b) return a === b;
  return a.header === b.header && a.match === b.match && a.value === b.value && a.to === b.to;
}
