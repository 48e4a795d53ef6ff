/**
 * Pod Security admission, the part deploys trip over: a namespace labelled
 * `pod-security.kubernetes.io/enforce: baseline|restricted` refuses pods that break the level,
 * with kube-apiserver's wording. Workloads (Deployments, ReplicaSets) are accepted with a
 * "would violate" warning; their pods are then refused when the ReplicaSet creates them, which
 * is how a real cluster lets such a deploy hang until its progress deadline.
 *
 * Checked: baseline's privileged containers and host namespaces; restricted's
 * allowPrivilegeEscalation, capabilities, runAsNonRoot and seccompProfile.
 */
import type { KubeObject } from './store.js';

const ENFORCE_LABEL = 'pod-security.kubernetes.io/enforce';

interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  runAsNonRoot?: boolean;
  seccompProfile?: { type?: string };
}

interface PodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  securityContext?: SecurityContext;
  containers?: { name?: string; securityContext?: SecurityContext }[];
  initContainers?: { name?: string; securityContext?: SecurityContext }[];
}

/** The enforced level of a namespace, when it has one this module checks. */
export function enforcedLevel(namespace: KubeObject | undefined): 'baseline' | 'restricted' | undefined {
  const level = namespace?.metadata.labels?.[ENFORCE_LABEL];
  return level === 'baseline' || level === 'restricted' ? level : undefined;
}

function quoted(names: string[]): string {
  return names.map((n) => `"${n}"`).join(', ');
}

function containersWhere(spec: PodSpec, test: (c: SecurityContext) => boolean): string[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? [])]
    .filter((c) => test(c.securityContext ?? {}))
    .map((c) => c.name ?? '');
}

/** kube-apiserver's list of broken checks, e.g. `runAsNonRoot != true (pod or container "web" must set ...)`. */
export function podSecurityViolations(level: 'baseline' | 'restricted', spec: PodSpec): string[] {
  const out: string[] = [];
  const host = (['hostNetwork', 'hostPID', 'hostIPC'] as const).filter((k) => spec[k] === true);
  if (host.length > 0) out.push(`host namespaces (${host.map((k) => `${k}=true`).join(', ')})`);
  const privileged = containersWhere(spec, (c) => c.privileged === true);
  if (privileged.length > 0)
    out.push(
      `privileged (container${privileged.length > 1 ? 's' : ''} ${quoted(privileged)} must not set securityContext.privileged=true)`,
    );
  if (level === 'baseline') return out;

  const escalation = containersWhere(spec, (c) => c.allowPrivilegeEscalation !== false);
  if (escalation.length > 0)
    out.push(
      `allowPrivilegeEscalation != false (container${escalation.length > 1 ? 's' : ''} ${quoted(escalation)} must set securityContext.allowPrivilegeEscalation=false)`,
    );
  const capabilities = containersWhere(spec, (c) => !(c.capabilities?.drop ?? []).includes('ALL'));
  if (capabilities.length > 0)
    out.push(
      `unrestricted capabilities (container${capabilities.length > 1 ? 's' : ''} ${quoted(capabilities)} must set securityContext.capabilities.drop=["ALL"])`,
    );
  const podNonRoot = spec.securityContext?.runAsNonRoot === true;
  const root = containersWhere(spec, (c) => c.runAsNonRoot !== true && !podNonRoot);
  if (root.length > 0)
    out.push(
      `runAsNonRoot != true (pod or container${root.length > 1 ? 's' : ''} ${quoted(root)} must set securityContext.runAsNonRoot=true)`,
    );
  const podSeccomp = ['RuntimeDefault', 'Localhost'].includes(
    spec.securityContext?.seccompProfile?.type ?? '',
  );
  const seccomp = containersWhere(
    spec,
    (c) => !podSeccomp && !['RuntimeDefault', 'Localhost'].includes(c.seccompProfile?.type ?? ''),
  );
  if (seccomp.length > 0)
    out.push(
      `seccompProfile (pod or container${seccomp.length > 1 ? 's' : ''} ${quoted(seccomp)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`,
    );
  return out;
}

/** `violates PodSecurity "restricted:latest": ...`, or undefined when the pod may run there. */
export function podSecurityRefusal(namespace: KubeObject | undefined, spec: unknown): string | undefined {
  const level = enforcedLevel(namespace);
  if (!level) return undefined;
  const broken = podSecurityViolations(level, spec ?? {});
  return broken.length > 0 ? `violates PodSecurity "${level}:latest": ${broken.join(', ')}` : undefined;
}
