/**
 * Gateway API: an HTTPRoute sends traffic to one Service per version by backendRef weights:
 * `<service>-blue` and `<service>-green` for blue-green, or the names given (`web` and
 * `web-canary` for a canary). Only the weighted rule (the first without header matches) and the
 * header rule cd-actions adds are edited; other rules are the user's and stay as they are.
 */
import { HTTPROUTES } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import type { HeaderRoute, RouterOptions, Weights } from './router.js';
import { WeightedObjectRouter, type WeightCodec } from './weighted.js';

interface BackendRef {
  name?: string;
  kind?: string;
  port?: number;
  weight?: number;
}
interface HeaderMatch {
  type?: 'Exact' | 'RegularExpression';
  name: string;
  value: string;
}
interface Rule {
  matches?: { path?: unknown; headers?: HeaderMatch[] }[];
  backendRefs?: BackendRef[];
}

/** Which header rule of the HTTPRoute cd-actions added (and so may remove). */
export const HEADER_ROUTE_ANNOTATION = 'cd-actions.dev/header-route';

export function colorServiceName(service: string, color: string): string {
  return `${service}-${color}`;
}

/** Gateway API matches headers exactly or by regular expression; a prefix is a regex. */
function headerMatch(h: HeaderRoute): HeaderMatch {
  if (h.match === 'exact') return { type: 'Exact', name: h.header, value: h.value };
  const value = h.match === 'prefix' ? `${h.value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*` : h.value;
  return { type: 'RegularExpression', name: h.header, value };
}

export function httpRouteCodec(service: string, backends?: Record<string, string>): WeightCodec {
  const versionOf = (ref: BackendRef): string | undefined => {
    if ((ref.kind ?? 'Service') !== 'Service' || !ref.name) return undefined;
    if (backends) return backends[ref.name];
    return ref.name.startsWith(`${service}-`) ? ref.name.slice(service.length + 1) : undefined;
  };
  const nameOf = (version: string): string =>
    (backends && Object.entries(backends).find(([, v]) => v === version)?.[0]) ??
    colorServiceName(service, version);
  const rules = (object: KubeObject): Rule[] => {
    const spec = (object.spec ??= {}) as { rules?: Rule[] };
    return (spec.rules ??= []);
  };
  const hasHeaders = (r: Rule): boolean => (r.matches ?? []).some((m) => (m.headers ?? []).length > 0);
  const weighted = (object: KubeObject): Rule | undefined =>
    rules(object).find((r) => !hasHeaders(r) && (r.backendRefs ?? []).some((b) => versionOf(b)));
  /**
   * HTTPRoute rules have no name to own them by, so the route cd-actions added is recorded in an
   * annotation, and only the rule that is exactly that route is ever removed.
   */
  const recorded = (object: KubeObject): HeaderRoute | undefined => {
    const raw = object.metadata.annotations?.[HEADER_ROUTE_ANNOTATION];
    try {
      return raw ? (JSON.parse(raw) as HeaderRoute) : undefined;
    } catch {
      return undefined;
    }
  };
  const isManaged = (r: Rule, route: HeaderRoute): boolean => {
    const want = headerMatch(route);
    const headers = r.matches?.length === 1 ? (r.matches[0]!.headers ?? []) : [];
    const got = headers[0];
    // Field by field: the API server answers a custom resource with its keys sorted and defaults filled.
    return (
      headers.length === 1 &&
      got!.name.toLowerCase() === want.name.toLowerCase() &&
      (got!.type ?? 'Exact') === want.type &&
      got!.value === want.value &&
      r.backendRefs?.length === 1 &&
      versionOf(r.backendRefs[0]!) === route.to
    );
  };
  const ruleOf = (object: KubeObject, route: HeaderRoute | undefined): number => {
    if (!route) return -1;
    const all = rules(object);
    const below = weighted(object);
    // cd-actions puts its rule just above the weighted one: look there first, upwards, so that a
    // user's rule that looks the same further up is never taken for it.
    for (let i = (below ? all.indexOf(below) : all.length) - 1; i >= 0; i--)
      if (isManaged(all[i]!, route)) return i;
    return -1;
  };
  return {
    read(object) {
      const refs = weighted(structuredClone(object))?.backendRefs ?? [];
      const weights: Weights = {};
      for (const ref of refs) {
        const version = versionOf(ref);
        // Gateway API's default weight is 1: a lone backendRef gets everything.
        if (version) weights[version] = refs.length === 1 ? 100 : (ref.weight ?? 1);
      }
      return weights;
    },
    readHeader(object) {
      const copy = structuredClone(object);
      const route = recorded(copy);
      return ruleOf(copy, route) >= 0 ? route : undefined;
    },
    drop(object, version) {
      const refs = weighted(object)?.backendRefs;
      const at = (refs ?? []).findIndex((r) => versionOf(r) === version && r.weight === 0);
      if (!refs || at < 0) return false;
      refs.splice(at, 1);
      return true;
    },
    write(object, weights, header) {
      const rule = weighted(object);
      if (!rule) {
        throw new Error(
          `HTTPRoute ${object.metadata.name} has no rule without header matches sending to ${backends ? Object.keys(backends).join(' or ') : `${service}-<colour> Services`}; point one at ${nameOf(Object.keys(weights)[0] ?? 'blue')}`,
        );
      }
      const refs = (rule.backendRefs ??= []);
      const port = refs.find((r) => versionOf(r))?.port;
      for (const [version, weight] of Object.entries(weights)) {
        const ref = refs.find((r) => versionOf(r) === version);
        if (ref) ref.weight = weight;
        else refs.push({ name: nameOf(version), ...(port ? { port } : {}), weight });
      }
      if (header !== undefined) {
        const all = rules(object);
        const at = ruleOf(object, recorded(object));
        if (at >= 0) all.splice(at, 1);
        const annotations = (object.metadata.annotations ??= {});
        delete annotations[HEADER_ROUTE_ANNOTATION];
        if (header) {
          annotations[HEADER_ROUTE_ANNOTATION] = JSON.stringify(header);
          const path = rule.matches?.[0]?.path;
          all.splice(all.indexOf(rule), 0, {
            matches: [{ ...(path ? { path } : {}), headers: [headerMatch(header)] }],
            backendRefs: [{ name: nameOf(header.to), ...(port ? { port } : {}), weight: 1 }],
          });
        }
      }
      return object;
    },
  };
}

export function gatewayApiRouter(o: RouterOptions): WeightedObjectRouter {
  return new WeightedObjectRouter(
    'gateway-api',
    HTTPROUTES,
    o.routeName ?? o.service,
    o.objects,
    o.namespace,
    httpRouteCodec(o.service, o.backends),
  );
}
