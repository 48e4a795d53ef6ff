/**
 * The pure part of a canary: the steps, the header route, the names, the canary's Deployment and
 * Service made from the new version's manifest, and the promoted stable template. No network
 * here, so it is tested directly.
 */
import { RECORD_ANNOTATION, REVISION_ANNOTATION } from '../../kube/annotations.js';
import { parseDuration } from '../../inputs/duration.js';
import type { KubeObject } from '../../manifests/manifests.js';
import type { HeaderRoute } from '../../traffic/router.js';

/** The versions as the routers name them. */
export const STABLE = 'stable';
export const CANARY = 'canary';

export interface Step {
  /** Percent of traffic to the canary, 1..100. */
  weight: number;
  /** How long the gate watches this step; undefined: the `step-duration` input. */
  pauseMs?: number;
  /** Checks for this step only (a YAML list, as health-gate's); undefined: the `checks` input. */
  checks?: unknown;
}

export const STEPS_FORM =
  'increasing weights in percent, comma-separated ("5,25,50,100"), or a YAML list of steps such as "- weight: 5\\n  pause: 10m" (optional "checks" per step)';

/** Steps from `5,25,50,100` or a YAML list; problems name the step and say what is accepted. */
export function parseSteps(value: unknown): { steps: Step[]; problems: string[] } {
  const problems: string[] = [];
  const steps: Step[] = [];
  const items: unknown[] =
    typeof value === 'string'
      ? value.split(',').map((s) => s.trim())
      : typeof value === 'number'
        ? [value]
        : Array.isArray(value)
          ? value
          : [];
  if (items.length === 0) problems.push(`no steps: expected ${STEPS_FORM}`);
  items.forEach((item, i) => {
    const where = `step ${i + 1}`;
    const fields: Record<string, unknown> =
      item && typeof item === 'object' && !Array.isArray(item)
        ? (item as Record<string, unknown>)
        : { weight: item };
    for (const key of Object.keys(fields))
      if (!['weight', 'pause', 'checks'].includes(key))
        problems.push(`${where}: unknown key "${key}"; a step has weight, pause and checks`);
    const raw = fields.weight;
    const weight =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && /^\d+%?$/.test(raw)
          ? Number(raw.replace(/%$/, ''))
          : NaN;
    if (!Number.isInteger(weight) || weight < 1 || weight > 100) {
      problems.push(
        `${where}: weight ${JSON.stringify(raw ?? null)} is not a whole percentage from 1 to 100`,
      );
      return;
    }
    const previous = steps.at(-1)?.weight;
    if (previous !== undefined && weight <= previous)
      problems.push(`${where}: weight ${weight} does not increase on ${previous}; weights must increase`);
    const step: Step = { weight };
    if (fields.pause !== undefined) {
      const pause = typeof fields.pause === 'string' ? parseDuration(fields.pause) : ({ ok: false } as const);
      if (!pause.ok || pause.ms <= 0)
        problems.push(
          `${where}: pause ${JSON.stringify(fields.pause)} is not a duration such as 30s, 10m or 1h`,
        );
      else step.pauseMs = pause.ms;
    }
    if (fields.checks !== undefined) {
      if (!Array.isArray(fields.checks))
        problems.push(`${where}: checks must be a YAML list of health-gate checks`);
      else step.checks = fields.checks;
    }
    steps.push(step);
  });
  return { steps, problems };
}

export const HEADER_ROUTE_FORM =
  'a header and a value: "canary=true" (exact), "canary^=beta" (prefix) or "canary=~^(alice|bob)$" (regular expression)';

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

/** `canary=true`, `x-user^=test-`, `x-user=~^(alice|bob)$`; undefined when it cannot parse. */
export function parseHeaderRoute(text: string): HeaderRoute | undefined {
  const m = /^\s*([^=^~\s]+)\s*(=~|\^=|=)\s*(.+?)\s*$/.exec(text);
  if (!m || !HEADER_NAME.test(m[1]!)) return undefined;
  const match = m[2] === '=~' ? 'regex' : m[2] === '^=' ? 'prefix' : 'exact';
  if (match === 'regex') {
    try {
      new RegExp(m[3]!);
    } catch {
      return undefined;
    }
  }
  return { header: m[1]!.toLowerCase(), match, value: m[3]!, to: CANARY };
}

export const COOKIE_ROUTE_FORM = 'a cookie and its value, such as "canary=always"';

const COOKIE_VALUE = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$/;

/**
 * `canary=always`: requests whose Cookie header carries that cookie reach the canary. Every router
 * that matches headers matches it as a regular expression on the Cookie header, so it is a header
 * route; undefined when the name or value is not a cookie's.
 */
export function parseCookieRoute(text: string): HeaderRoute | undefined {
  const m = /^\s*([^=\s]+)=([^\s]+)\s*$/.exec(text);
  if (!m || !HEADER_NAME.test(m[1]!) || !COOKIE_VALUE.test(m[2]!)) return undefined;
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return {
    header: 'cookie',
    match: 'regex',
    value: `^(.*;\\s*)?${escape(m[1]!)}=${escape(m[2]!)}(;.*)?$`,
    to: CANARY,
  };
}

export function canaryName(name: string): string {
  return `${name}-canary`;
}

interface DeploymentShape {
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  };
}

/**
 * How the canary's pods are told apart. `separate`: they must not be selected by the stable
 * Service (the routers that send to a canary Service), so every label the stable Service or
 * Deployment selects on gets `-canary` on its value. Always: the version label says `canary`.
 */
export interface CanaryLabels {
  versionLabel: string;
  separate: boolean;
  /** Labels the stable Service and Deployment select on. */
  selected: Record<string, string>;
  /** Extra pod labels (a DestinationRule's canary subset). */
  extra?: Record<string, string>;
}

/** `<value>-canary` as a label value: at most 63 characters, so a long value is cut before the suffix. */
function canaryLabelValue(value: string): string {
  const suffix = '-canary';
  if (value.length + suffix.length <= 63) return `${value}${suffix}`;
  return `${value.slice(0, 63 - suffix.length).replace(/[-_.]+$/, '')}${suffix}`;
}

export function canaryPodLabels(labels: Record<string, string>, o: CanaryLabels): Record<string, string> {
  const out = { ...labels, ...o.extra };
  if (o.separate)
    for (const [k, v] of Object.entries(o.selected)) if (out[k] === v) out[k] = canaryLabelValue(v);
  out[o.versionLabel] = CANARY;
  return out;
}

function cleanAnnotations(annotations: Record<string, string> | undefined): Record<string, string> {
  const out = { ...annotations };
  delete out[RECORD_ANNOTATION];
  delete out[REVISION_ANNOTATION];
  delete out['kubectl.kubernetes.io/last-applied-configuration'];
  return out;
}

/** The canary Deployment: the new version's template beside the stable, with its own name and labels. */
export function canaryDeployment(
  template: KubeObject,
  o: CanaryLabels & { name: string; namespace: string; replicas: number },
): KubeObject {
  const source = structuredClone(template) as KubeObject & DeploymentShape;
  const spec = source.spec ?? {};
  const matchLabels = canaryPodLabels(spec.selector?.matchLabels ?? {}, { ...o, extra: {} });
  const podLabels = canaryPodLabels(spec.template?.metadata?.labels ?? {}, o);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: {
        ...source.metadata.labels,
        [o.versionLabel]: CANARY,
        'app.kubernetes.io/managed-by': 'cd-actions',
      },
      annotations: cleanAnnotations(source.metadata.annotations),
    },
    spec: {
      ...spec,
      replicas: o.replicas,
      selector: { ...spec.selector, matchLabels },
      template: { ...spec.template, metadata: { ...spec.template?.metadata, labels: podLabels } },
    },
  };
}

interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: unknown;
  protocol?: string;
}

/** The canary's Service, for routers that send to one Service per version: the stable one's ports, the canary's pods. */
export function canaryService(
  stable: KubeObject,
  o: CanaryLabels & { name: string; namespace: string; app: string },
): KubeObject {
  const spec = (stable.spec ?? {}) as { selector?: Record<string, string>; ports?: ServicePort[] };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'cd-actions', 'cd-actions.dev/app': o.app },
    },
    spec: {
      selector: canaryPodLabels(spec.selector ?? {}, { ...o, extra: {} }),
      ports: (spec.ports ?? []).map((p) => ({
        ...(p.name ? { name: p.name } : {}),
        port: p.port,
        ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
        ...(p.protocol ? { protocol: p.protocol } : {}),
      })),
    },
  };
}

/**
 * What the stable Deployment becomes on promotion: the new version's pod template under the
 * stable's own name (its selector is immutable and its replica count stays its own or its
 * autoscaler's), keeping the labels the stable's selector and routing select on.
 */
export function promotedTemplate(
  stable: KubeObject,
  template: KubeObject,
  keepLabels: Record<string, string>,
): Record<string, unknown> {
  const live = stable as KubeObject & DeploymentShape;
  const next = structuredClone(template) as KubeObject & DeploymentShape;
  const podTemplate = next.spec?.template ?? {};
  const labels = {
    ...podTemplate.metadata?.labels,
    ...live.spec?.selector?.matchLabels,
    ...keepLabels,
  };
  return { ...podTemplate, metadata: { ...podTemplate.metadata, labels } };
}

/** Replicas of the canary for a weight: enough for its share of the stable's, at least one. */
export function replicasFor(weight: number, stableReplicas: number): number {
  return Math.max(1, Math.ceil((stableReplicas * weight) / 100));
}
