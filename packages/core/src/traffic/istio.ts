/**
 * Istio: a VirtualService splits the host's traffic between versions, either by DestinationRule
 * subsets named after them (subset `blue`, subset `canary`) or by host, one Service per version
 * (`web` and `web-canary`). Only two rules are ever edited: the weighted rule (named by
 * `ruleName`, else the one without a match) and the header rule cd-actions adds and names. Rules
 * the user wrote for other purposes, header-matched test routes included, are left as they are.
 */
import { VIRTUALSERVICES } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import type { HeaderRoute, RouterOptions, Weights } from './router.js';
import { WeightedObjectRouter, type WeightCodec } from './weighted.js';

/** The name of the header rule cd-actions owns: it adds it above the weighted rule and removes it. */
export const HEADER_RULE = 'cd-actions-header-route';

interface Destination {
  destination?: { host?: string; subset?: string; port?: unknown };
  weight?: number;
}
type StringMatch = Partial<Record<HeaderRoute['match'], string>>;
interface HttpRoute {
  name?: string;
  match?: { headers?: Record<string, StringMatch> }[];
  route?: Destination[];
}

export interface IstioCodecOptions {
  /** Host-level routing: short Service name → version. Without it, versions are subsets. */
  hostVersions?: Record<string, string>;
  ruleName?: string;
}

function shortHost(host: string | undefined): string {
  return (host ?? '').split('.')[0] ?? '';
}

export function virtualServiceCodec(o: IstioCodecOptions = {}): WeightCodec {
  const versionOf = (d: Destination): string | undefined =>
    o.hostVersions ? o.hostVersions[shortHost(d.destination?.host)] : d.destination?.subset;
  const http = (object: KubeObject): HttpRoute[] => {
    const spec = (object.spec ??= {}) as { http?: HttpRoute[] };
    return (spec.http ??= []);
  };
  const weighted = (object: KubeObject): HttpRoute | undefined =>
    http(object).find((r) =>
      o.ruleName !== undefined
        ? r.name === o.ruleName
        : r.name !== HEADER_RULE && !r.match?.length && (r.route ?? []).some((d) => versionOf(d)),
    );
  const missing = (object: KubeObject): Error =>
    new Error(
      o.ruleName !== undefined
        ? `VirtualService ${object.metadata.name} has no http route named "${o.ruleName}"`
        : `VirtualService ${object.metadata.name} has no http route without a match that sends to ${o.hostVersions ? `the hosts ${Object.keys(o.hostVersions).join(', ')}` : 'DestinationRule subsets'}; add one, or name the one to use`,
    );
  /** A destination for a version the rule does not list yet, shaped like its neighbours. */
  const destinationFor = (rule: HttpRoute, version: string): Destination['destination'] => {
    const like = rule.route?.find((d) => d.destination?.host)?.destination;
    const port = like?.port !== undefined ? { port: like.port } : {};
    if (!o.hostVersions) return { ...(like?.host ? { host: like.host } : {}), subset: version, ...port };
    const short = Object.entries(o.hostVersions).find(([, v]) => v === version)?.[0] ?? version;
    // Keep the neighbour's domain: web.shop.svc.cluster.local → web-canary.shop.svc.cluster.local.
    const suffix = like?.host?.includes('.') ? like.host.slice(like.host.indexOf('.')) : '';
    return { host: `${short}${suffix}`, ...port };
  };
  return {
    read(object) {
      const route = weighted(structuredClone(object))?.route ?? [];
      const weights: Weights = {};
      for (const d of route) {
        const version = versionOf(d);
        if (version) weights[version] = d.weight ?? (route.length === 1 ? 100 : 0);
      }
      return weights;
    },
    readHeader(object) {
      const rule = http(structuredClone(object)).find((r) => r.name === HEADER_RULE);
      const [header, match] = Object.entries(rule?.match?.[0]?.headers ?? {})[0] ?? [];
      const kind = (['exact', 'prefix', 'regex'] as const).find((k) => match?.[k] !== undefined);
      const to = rule?.route?.[0] ? versionOf(rule.route[0]) : undefined;
      return header && kind && to ? { header, match: kind, value: match![kind]!, to } : undefined;
    },
    drop(object, version) {
      const route = weighted(object)?.route;
      const at = (route ?? []).findIndex((d) => versionOf(d) === version && !d.weight);
      if (!route || at < 0) return false;
      route.splice(at, 1);
      return true;
    },
    write(object, weights, header) {
      const rules = http(object);
      const rule = weighted(object);
      if (!rule) throw missing(object);
      const route = (rule.route ??= []);
      for (const [version, weight] of Object.entries(weights)) {
        const found = route.find((d) => versionOf(d) === version);
        if (found) found.weight = weight;
        else route.push({ destination: destinationFor(rule, version), weight });
      }
      if (header !== undefined) {
        const at = rules.findIndex((r) => r.name === HEADER_RULE);
        if (at >= 0) rules.splice(at, 1);
        if (header) {
          rules.splice(rules.indexOf(rule), 0, {
            name: HEADER_RULE,
            match: [{ headers: { [header.header]: { [header.match]: header.value } } }],
            route: [{ destination: destinationFor(rule, header.to), weight: 100 }],
          });
        }
      }
      return object;
    },
  };
}

export function istioRouter(o: RouterOptions): WeightedObjectRouter {
  return new WeightedObjectRouter(
    'istio',
    VIRTUALSERVICES,
    o.routeName ?? o.service,
    o.objects,
    o.namespace,
    virtualServiceCodec({
      ...(o.backends ? { hostVersions: o.backends } : {}),
      ...(o.ruleName ? { ruleName: o.ruleName } : {}),
    }),
  );
}
