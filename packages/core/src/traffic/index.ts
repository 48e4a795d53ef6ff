/** The traffic routers behind one factory: a new data plane is one new file and one case here. */
import type { Kube } from '../kube/kube.js';
import { gatewayApiRouter } from './gateway-api.js';
import { istioRouter } from './istio.js';
import { NginxCanaryRouter } from './nginx.js';
import { ReplicaRatioRouter } from './replicas.js';
import type { RouteKind, RouterOptions, TrafficRouter } from './router.js';
import { ServiceSelectorRouter } from './service.js';

export * from './router.js';
export { colorServiceName } from './gateway-api.js';

export function createRouter(
  kind: RouteKind,
  options: RouterOptions,
  kube: Pick<Kube, 'kc' | 'request'>,
): TrafficRouter {
  switch (kind) {
    case 'service':
      return new ServiceSelectorRouter(options, kube);
    case 'istio':
      return istioRouter(options);
    case 'gateway-api':
      return gatewayApiRouter(options);
    case 'nginx':
      return new NginxCanaryRouter(options);
    case 'replicas':
      return new ReplicaRatioRouter(options);
  }
}
