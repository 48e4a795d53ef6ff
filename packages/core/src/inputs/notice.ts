/**
 * The inputs every deploy notice takes whatever it is sent through (Slack, e-mail): the status,
 * extra facts as a YAML map, and a report file from an earlier step, read and summarised while
 * validating. Loaded on the start-up path: local work only (a file read, YAML), no network.
 */
import { readFileSync } from 'node:fs';
import { summarizeReport, type ReportSummary } from '../slack/gate-report.js';
import { DEPLOY_STATUSES, type DeployStatus } from '../slack/message.js';
import * as kinds from './kinds.js';
import type { InputSpec } from './kinds.js';

/** GitHub's job.status is lower case already; a hand-typed "Success" means the same. */
export function deployStatusInput(): InputSpec<DeployStatus, true> {
  const spec = kinds.oneOf(DEPLOY_STATUSES, { required: true, config: false });
  return { ...spec, parse: (raw, context) => spec.parse(raw.toLowerCase(), context) };
}

/** `fields`: a YAML map of name: single value, shown in order. */
export function fieldsInput(): InputSpec<unknown, false> {
  return kinds.document({
    config: false,
    shape: 'mapping',
    description: 'a YAML map of name: value, such as "region: eu-west-1"',
    validate: (value) => {
      const bad = Object.entries(value as Record<string, unknown>).find(
        ([, v]) => v !== null && typeof v === 'object',
      );
      return bad ? { reason: `the value of "${bad[0]}" is not a single value` } : undefined;
    },
  });
}

/** The parsed `fields` map as ordered [name, text] pairs (absent: none). */
export function fieldPairs(fields: unknown): [string, string][] {
  return Object.entries((fields ?? {}) as Record<string, unknown>).map(([k, v]): [string, string] => [
    k,
    typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v),
  ]);
}

/**
 * `report`: a JSON report an earlier step of the job wrote, inside the workspace or in
 * RUNNER_TEMP (where health-gate and canary-step write it by default), as its summary.
 */
export function reportInput(): InputSpec<ReportSummary, false> {
  const where = kinds.path({
    config: false,
    output: true,
    what: 'a JSON report shaped { verdict, checks: [{ name, verdict }] } (health-gate, canary-step or deploy output)',
  });
  return {
    ...where,
    parse: (raw, context) => {
      const inside = where.parse(raw, context);
      if (!inside.ok) return inside;
      let text: string;
      try {
        text = readFileSync(inside.value, 'utf8');
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return {
          ok: false,
          reason: code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code})`,
        };
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, reason: 'the file is not JSON' };
      }
      const summary = summarizeReport(json);
      return summary.ok ? { ok: true, value: summary.summary } : { ok: false, reason: summary.reason };
    },
  };
}
