/**
 * Istio: a VirtualService routes the host Service's traffic to DestinationRule subsets named
 * after the colours (subset `blue` selects `version: blue`); a switch rewrites their weights.
 */
import { VIRTUALSERVICES } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import type { RouterOptions } from './router.js';
import { WeightedObjectRouter, type WeightCodec } from './weighted.js';

interface Destination {
  destination?: { host?: string; subset?: string };
  weight?: number;
}
interface HttpRoute {
  match?: unknown[];
  route?: Destination[];
}

function httpRoutes(object: KubeObject): HttpRoute[] {
  return ((object.spec as { http?: HttpRoute[] } | undefined)?.http ?? []).filter((r) =>
    (r.route ?? []).some((d) => d.destination?.subset),
  );
}

export const virtualServiceCodec: WeightCodec = {
  read(object) {
    // The default route (no match) decides what most users see; header routes follow it.
    const rule = httpRoutes(object).find((r) => !r.match) ?? httpRoutes(object)[0];
    const route = rule?.route ?? [];
    const weights: Record<string, number> = {};
    for (const d of route) {
      const subset = d.destination?.subset;
      if (subset) weights[subset] = d.weight ?? (route.length === 1 ? 100 : 0);
    }
    return weights;
  },
  write(object, weights) {
    const rules = httpRoutes(object);
    if (rules.length === 0) {
      throw new Error(
        `VirtualService ${object.metadata.name} has no http route to subsets; give it routes to the colour subsets`,
      );
    }
    for (const rule of rules) {
      const route = rule.route ?? [];
      const host = route.find((d) => d.destination?.host)?.destination?.host;
      for (const [subset, weight] of Object.entries(weights)) {
        const found = route.find((d) => d.destination?.subset === subset);
        if (found) found.weight = weight;
        else route.push({ destination: { ...(host ? { host } : {}), subset }, weight });
      }
      rule.route = route;
    }
    return object;
  },
};

export function istioRouter(o: RouterOptions): WeightedObjectRouter {
  return new WeightedObjectRouter(
    'istio',
    VIRTUALSERVICES,
    o.routeName ?? o.service,
    o.objects,
    o.namespace,
    virtualServiceCodec,
  );
}
