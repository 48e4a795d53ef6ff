/** k8s.io/api networking/v1: Ingress (field numbers from networking/v1/types.go). */
import type { PackageSpec } from './schema.js';

export const NETWORKING_V1: PackageSpec = {
  Ingress: { 1: 'metadata meta.ObjectMeta', 2: 'spec IngressSpec', 3: 'status IngressStatus' },
  IngressSpec: {
    1: 'defaultBackend IngressBackend',
    2: 'tls []IngressTLS',
    3: 'rules []IngressRule',
    4: 'ingressClassName string ptr',
  },
  IngressTLS: { 1: 'hosts []string', 2: 'secretName' },
  IngressStatus: { 1: 'loadBalancer IngressLoadBalancerStatus' },
  IngressLoadBalancerStatus: { 1: 'ingress []IngressLoadBalancerIngress' },
  IngressLoadBalancerIngress: { 1: 'ip', 2: 'hostname', 4: 'ports []IngressPortStatus' },
  IngressPortStatus: { 1: 'port int32', 2: 'protocol', 3: 'error string ptr' },
  IngressRule: { 1: 'host', 2: 'ingressRuleValue IngressRuleValue inline' },
  IngressRuleValue: { 1: 'http HTTPIngressRuleValue' },
  HTTPIngressRuleValue: { 1: 'paths []HTTPIngressPath' },
  HTTPIngressPath: { 1: 'path', 2: 'backend IngressBackend', 3: 'pathType string ptr' },
  IngressBackend: { 3: 'resource core.TypedLocalObjectReference', 4: 'service IngressServiceBackend' },
  IngressServiceBackend: { 1: 'name', 2: 'port ServiceBackendPort' },
  ServiceBackendPort: { 1: 'name', 2: 'number int32' },
};
