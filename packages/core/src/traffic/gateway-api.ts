/**
 * Gateway API: an HTTPRoute sends traffic to one Service per colour (`<service>-blue`,
 * `<service>-green`) by backendRef weights; a switch rewrites the weights.
 */
import { HTTPROUTES } from '../kube/objects.js';
import type { KubeObject } from '../manifests/manifests.js';
import type { RouterOptions } from './router.js';
import { WeightedObjectRouter, type WeightCodec } from './weighted.js';

interface BackendRef {
  name?: string;
  kind?: string;
  port?: number;
  weight?: number;
}
interface Rule {
  matches?: unknown[];
  backendRefs?: BackendRef[];
}

export function colorServiceName(service: string, color: string): string {
  return `${service}-${color}`;
}

export function httpRouteCodec(service: string): WeightCodec {
  const colorOf = (ref: BackendRef): string | undefined =>
    (ref.kind ?? 'Service') === 'Service' && ref.name?.startsWith(`${service}-`)
      ? ref.name.slice(service.length + 1)
      : undefined;
  const rules = (object: KubeObject): Rule[] =>
    ((object.spec as { rules?: Rule[] } | undefined)?.rules ?? []).filter((r) =>
      (r.backendRefs ?? []).some((b) => colorOf(b)),
    );
  return {
    read(object) {
      const refs = rules(object)[0]?.backendRefs ?? [];
      const weights: Record<string, number> = {};
      for (const ref of refs) {
        const color = colorOf(ref);
        // Gateway API's default weight is 1: a lone backendRef gets everything.
        if (color) weights[color] = refs.length === 1 ? 100 : (ref.weight ?? 1);
      }
      return weights;
    },
    write(object, weights) {
      const found = rules(object);
      if (found.length === 0) {
        throw new Error(
          `HTTPRoute ${object.metadata.name} has no backendRef to ${service}-<colour> Services; point it at ${colorServiceName(service, 'blue')} or ${colorServiceName(service, 'green')}`,
        );
      }
      for (const rule of found) {
        const refs = rule.backendRefs ?? [];
        const port = refs.find((r) => colorOf(r))?.port;
        for (const [color, weight] of Object.entries(weights)) {
          const ref = refs.find((r) => colorOf(r) === color);
          if (ref) ref.weight = weight;
          else refs.push({ name: colorServiceName(service, color), ...(port ? { port } : {}), weight });
        }
        rule.backendRefs = refs;
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
    httpRouteCodec(o.service),
  );
}
