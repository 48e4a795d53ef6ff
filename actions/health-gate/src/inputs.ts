/**
 * health-gate inputs: every input, every check of the `checks` list and the monitoring settings
 * are validated here, before anything touches a network. Only light modules load on this path.
 */
import { clusterInputs } from '@cd-actions/core/inputs/cluster';
import { KUBE_NAME, KUBE_NAME_FORM } from '@cd-actions/core/inputs/names';
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import { input, type RuleProblem, type Settings } from '@cd-actions/core/inputs/inputs';
import { CONDITION_FORM, parseCondition } from '@cd-actions/core/gate/condition';
import { parseMonitoring, type MonitoringSpec } from '@cd-actions/core/gate/monitoring-spec';
import { parseChecks } from '@cd-actions/core/gate/parse';
import { prometheusAccessInputs, prometheusAccessRules } from '@cd-actions/core/inputs/prometheus';
import type { CheckDefaults, CheckSpec } from '@cd-actions/core/gate/types';

export const spec = {
  ...deployInputs,
  ...clusterInputs,
  checks: input.document({
    shape: 'list',
    description: 'a YAML list of checks, each a mapping with "kind" (http, prometheus, pods or command)',
  }),
  url: input.url({ config: false }),
  ...prometheusAccessInputs,
  query: input.string({ config: false }),
  threshold: input.string({
    config: false,
    validate: (text) => (parseCondition(text).ok ? undefined : CONDITION_FORM),
  }),
  deployment: input.string({ config: false, pattern: KUBE_NAME, patternDescription: KUBE_NAME_FORM }),
  duration: input.duration({ default: '5m', min: '1s', max: '6h' }),
  interval: input.duration({ default: '30s', min: '100ms', max: '1h' }),
  'initial-delay': input.duration({ default: '0s', allowZero: true, max: '1h' }),
  'on-no-data': input.enum(['hold', 'pass', 'fail'], { default: 'hold' }),
  'on-inconclusive': input.enum(['fail', 'pass'], { default: 'fail' }),
  'min-requests': input.integer({ default: 10, min: 0, max: 1_000_000_000, config: false }),
  'failure-limit': input.integer({ default: 1, min: 0, max: 100_000, config: false }),
  window: input.duration({ default: '1m', min: '1s', max: '24h', config: false }),
  monitoring: input.document({ shape: 'mapping', config: false }),
  'report-path': input.path({ config: false, output: true, what: 'the JSON decision record to write' }),
} as const;

export type GateSettings = Settings<typeof spec>;

/** The checks the step runs, and which input each came from (for messages). */
export interface GateInputs {
  settings: GateSettings;
  checks: CheckSpec[];
  /** Check name → the input that defined it (`checks`, `url`, `query`, `deployment`). */
  inputOf: Map<string, string>;
  monitoring: MonitoringSpec;
}

interface Built {
  checks: CheckSpec[];
  inputOf: Map<string, string>;
  problems: { input: string; text: string }[];
}

/** Turns the settings into checks: the `checks` list plus one check per simple input. */
export function buildChecks(settings: GateSettings, namespace = settings.namespace ?? 'default'): Built {
  const defaults: Partial<CheckDefaults> = {
    namespace,
    prometheusUrl: settings.prometheusUrl,
    minRequests: settings.minRequests,
    failureLimit: settings.failureLimit,
    windowMs: settings.window,
  };
  const sources: [string, unknown][] = [];
  if (settings.checks !== undefined) sources.push(['checks', settings.checks]);
  if (settings.url !== undefined) sources.push(['url', [{ kind: 'http', name: 'url', url: settings.url }]]);
  if (settings.query !== undefined) {
    sources.push([
      'query',
      [{ kind: 'prometheus', name: 'query', query: settings.query, condition: settings.threshold }],
    ]);
  }
  if (settings.deployment !== undefined) {
    sources.push(['deployment', [{ kind: 'pods', name: 'deployment', deployment: settings.deployment }]]);
  }
  const built: Built = { checks: [], inputOf: new Map(), problems: [] };
  for (const [name, doc] of sources) {
    const parsed = parseChecks(doc, defaults);
    built.problems.push(...parsed.problems.map((text) => ({ input: name, text })));
    for (const check of parsed.checks) {
      if (built.inputOf.has(check.name)) {
        built.problems.push({
          input: 'checks',
          text: `two checks are named "${check.name}": expected unique names (the simple inputs url, query and deployment name their checks after themselves)`,
        });
        continue;
      }
      built.inputOf.set(check.name, name);
      built.checks.push(check);
    }
  }
  return built;
}

const CHECKS_FORM = '"checks", or "url", or "prometheus-url" with "query" and "threshold", or "deployment"';

const rules: ((settings: GateSettings) => RuleProblem | undefined)[] = [
  ...prometheusAccessRules,
  (s) =>
    s.checks === undefined && s.url === undefined && s.query === undefined && s.deployment === undefined
      ? {
          input: 'checks',
          accepted: CHECKS_FORM,
          message: `Input "checks" is required but no check was given: expected ${CHECKS_FORM}`,
        }
      : undefined,
  (s) =>
    s.query !== undefined && s.threshold === undefined
      ? {
          input: 'threshold',
          accepted: CONDITION_FORM,
          message: `Input "threshold" is required with "query": expected ${CONDITION_FORM}`,
        }
      : s.threshold !== undefined && s.query === undefined
        ? {
            input: 'query',
            accepted: 'a PromQL query',
            message: 'Input "query" is required with "threshold": expected a PromQL query',
          }
        : undefined,
  (s) =>
    s.interval > s.duration
      ? { input: 'interval', accepted: `a duration no longer than "duration" (${s.duration / 1000}s)` }
      : undefined,
  (s) => {
    const { problems } = buildChecks(s);
    if (problems.length === 0) return undefined;
    const input = problems[0]!.input;
    const lines = problems.map((p) => `Input "${p.input}": ${p.text}`);
    return { input, accepted: 'valid checks', message: lines.join('\n') };
  },
  (s) => {
    const { problems } = parseMonitoring(s.monitoring);
    if (problems.length === 0) return undefined;
    return {
      input: 'monitoring',
      accepted: 'valid monitoring settings',
      message: problems.map((p) => `Input "monitoring": ${p}`).join('\n'),
    };
  },
];

/** Reads and validates every input; `read` and `workspace` are seams for tests. */
export function getInputs(options: { read?: (name: string) => string; workspace?: string } = {}): GateInputs {
  const settings = resolveSettings(spec, { rules, ...options });
  const { checks, inputOf } = buildChecks(settings);
  return { settings, checks, inputOf, monitoring: parseMonitoring(settings.monitoring).spec };
}
