/**
 * The gate behind one interface: the health-gate action and the deploy actions (before a
 * blue-green switch, after a rollout, between canary steps) call the same functions.
 */
export { parseChecks, CHECK_KINDS, DEFAULT_CHECK_DEFAULTS } from './parse.js';
export { preflightGate, runGate, thresholdText } from './gate.js';
export { gateSummary, monitoringSection } from './summary.js';
export { collectMonitoring, gradeAlerts, type Alert, type MonitoringSnapshot } from './monitoring.js';
export { parseMonitoring, type MonitoringSpec } from './monitoring-spec.js';
export { parseCondition, holds, describeCondition, type Condition } from './condition.js';
export { templateQuery, TEMPLATE_NAMES, type TemplateName } from './templates.js';
export type {
  CheckDefaults,
  CheckKind,
  CheckRecord,
  CheckSpec,
  FailureRules,
  GateDecision,
  GateOptions,
  OnInconclusive,
  OnNoData,
  SampleRecord,
  Verdict,
} from './types.js';
