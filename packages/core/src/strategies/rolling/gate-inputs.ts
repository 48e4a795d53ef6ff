/**
 * The inputs of the gate that verifies a version once it serves, shared by deploy-rolling and
 * rollback: `checks` (the health-gate schema), `prometheus-url`, `verify-duration` and
 * `check-interval` (blue-green's names and defaults), the gate's on-no-data, on-inconclusive and
 * initial-delay (each also read from the environment's `gate` entry of the deploy config), and
 * health-gate's `report-path`. Light: it loads on the validation path, before anything touches a
 * network.
 */
import { parseChecks } from '../../gate/parse.js';
import type { CheckDefaults } from '../../gate/types.js';
import { input, InputError, type RuleProblem } from '../../inputs/inputs.js';
import {
  prometheusAccess,
  prometheusAccessInputs,
  prometheusAccessRules,
  type PrometheusAccessSettings,
} from '../../inputs/prometheus.js';
import type { Kube } from '../../kube/kube.js';
import type { VerifyGate } from './gate.js';

const CHECKS_FORM =
  'a YAML list of health-gate checks, each a mapping with "kind" (http, prometheus, pods or command)';

/** How the checks observe, from the inputs or the environment's gate.* settings. */
const gateSettings = {
  ...prometheusAccessInputs,
  'verify-duration': input.duration({ default: '1m', min: '1s', max: '6h', config: 'gate.duration' }),
  'check-interval': input.duration({ default: '5s', min: '100ms', max: '10m', config: 'gate.interval' }),
  'initial-delay': input.duration({ default: '0s', allowZero: true, max: '1h' }),
  'on-no-data': input.enum(['hold', 'pass', 'fail'], { default: 'hold' }),
  'on-inconclusive': input.enum(['fail', 'pass'], { default: 'fail' }),
  'report-path': input.path({ config: false, output: true, what: 'the JSON decision record to write' }),
} as const;

/** deploy-rolling: the environment's gate.checks verify every rollout there, unless the step gives its own. */
export const deployGateInputs = {
  checks: input.document({ shape: 'list', description: CHECKS_FORM }),
  ...gateSettings,
} as const;

/**
 * rollback: checks only when the step gives them. The environment's checks were written for the
 * versions it deploys; a rollback in an incident runs them only when asked to.
 */
export const rollbackGateInputs = {
  checks: input.document({ shape: 'list', description: CHECKS_FORM, config: false }),
  ...gateSettings,
} as const;

/** The settings these inputs give, as getInputs returns them. */
export interface GateSettings extends PrometheusAccessSettings {
  readonly namespace?: string | undefined;
  readonly checks?: unknown;
  readonly verifyDuration: number;
  readonly checkInterval: number;
  readonly initialDelay: number;
  readonly onNoData: 'hold' | 'pass' | 'fail';
  readonly onInconclusive: 'fail' | 'pass';
}

function parse(settings: GateSettings, namespace: string): ReturnType<typeof parseChecks> {
  const defaults: Partial<CheckDefaults> = {
    namespace,
    ...(settings.prometheusUrl ? { prometheusUrl: settings.prometheusUrl } : {}),
  };
  return parseChecks(settings.checks, defaults);
}

/** The rules of these inputs: the checks parse, and the Prometheus access inputs agree. */
export const gateRules: readonly ((settings: GateSettings) => RuleProblem | undefined)[] = [
  checksRule,
  ...prometheusAccessRules,
];

/** The rule that parses every check before anything connects: one problem lists them all. */
export function checksRule(settings: GateSettings): RuleProblem | undefined {
  if (settings.checks === undefined) return undefined;
  const { problems } = parse(settings, settings.namespace ?? 'default');
  if (problems.length === 0) return undefined;
  return {
    input: 'checks',
    accepted: CHECKS_FORM,
    message: problems.map((p) => `Input "checks": ${p}`).join('\n'),
  };
}

/**
 * The gate to run, with checks that default to `namespace` (known only once the context is
 * read); undefined without checks. An empty list is no gate: there is nothing to verify.
 */
export function verifyGateOf(settings: GateSettings, namespace: string, kube?: Kube): VerifyGate | undefined {
  if (settings.checks === undefined) return undefined;
  const { checks, problems } = parse(settings, namespace);
  if (problems.length > 0) {
    throw new InputError(
      problems.map((p) => ({
        input: 'checks',
        value: '',
        accepted: CHECKS_FORM,
        message: `Input "checks": ${p}`,
      })),
    );
  }
  if (checks.length === 0) return undefined;
  return {
    checks,
    durationMs: settings.verifyDuration,
    intervalMs: settings.checkInterval,
    initialDelayMs: settings.initialDelay,
    onNoData: settings.onNoData,
    onInconclusive: settings.onInconclusive,
    ...(settings.prometheusUrl
      ? { prometheusUrl: settings.prometheusUrl, prometheus: prometheusAccess(settings, kube) }
      : {}),
  };
}
