/**
 * `{{name}}` placeholders in a custom payload (the `payload` input or `payload-file-path`),
 * filled with the same facts as the default message. They are `${{ }}`-free so a workflow need
 * not interpolate (and so a commit message can never inject YAML). In a Block Kit message,
 * values are escaped for mrkdwn except inside plain_text objects and URLs, where Slack shows
 * text as is; a Workflow Builder trigger's variables are data, sent as they are.
 */
import { alertCounts, canaryLine } from './gate-report.js';
import {
  STATUS_STYLE,
  failedCheckNames,
  headline,
  mentionMarkup,
  shortSha,
  wantsMentions,
  type DeployFacts,
} from './message.js';
import { humanDuration } from '../inputs/duration.js';
import { escapeMrkdwn } from './text.js';

export const PLACEHOLDERS = [
  'app',
  'environment',
  'version',
  'strategy',
  'status',
  'status_emoji',
  'color',
  'headline',
  'text',
  'duration',
  'commit',
  'commit_short',
  'commit_message',
  'commit_url',
  'run_url',
  'actor',
  'repository',
  'workflow',
  'mentions',
  'verdict',
  'failed_checks',
  'failed_phase',
  'alerts',
  'canary',
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** `{{name}}` or `{{ name }}`. */
export const PLACEHOLDER_PATTERN = /\{\{\s*([a-zA-Z_][\w-]*)\s*\}\}/g;

/**
 * Anything in double braces, so that what is not one of ours is caught rather than sent as is:
 * `{{ sha }}`, and GitHub's `${{ github.sha }}` in a file (GitHub expands expressions in inputs,
 * never in files) or slackapi/slack-github-action's `{{ env.X }}`.
 */
const ANY_TEMPLATE = /\{\{\s*([^{}]*?)\s*\}\}/g;

export function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name);
}

/** The unknown placeholder names in one string, in order, each once. */
export function unknownPlaceholdersIn(text: string): string[] {
  const names = [...text.matchAll(ANY_TEMPLATE)].map((match) => match[1]!);
  return [...new Set(names.filter((name) => !isPlaceholder(name)))];
}

/** Each placeholder's value, as plain text (the caller escapes it where Slack reads mrkdwn). */
export function placeholderValues(facts: DeployFacts): Record<Placeholder, string> {
  const report = facts.report;
  return {
    app: facts.app ?? '',
    environment: facts.environment ?? '',
    version: facts.version ?? '',
    strategy: facts.strategy ?? '',
    status: facts.status,
    status_emoji: STATUS_STYLE[facts.status].emoji,
    color: STATUS_STYLE[facts.status].color,
    headline: headline(facts),
    text: facts.text ?? '',
    duration: facts.durationMs === undefined ? '' : humanDuration(facts.durationMs),
    commit: facts.commit?.sha ?? '',
    commit_short: facts.commit ? shortSha(facts.commit.sha) : '',
    commit_message: facts.commit?.message ?? '',
    commit_url: facts.commit?.url ?? '',
    run_url: facts.runUrl ?? '',
    actor: facts.actor ?? '',
    repository: facts.repository,
    workflow: facts.workflow ?? '',
    mentions: wantsMentions(facts.status) ? facts.mentions.map(mentionMarkup).join(' ') : '',
    verdict: report?.verdict ?? '',
    failed_checks: failedCheckNames(facts).join(', '),
    failed_phase: report?.failedPhase ?? '',
    alerts: report?.alerts && report.alerts.length > 0 ? alertCounts(report.alerts) : '',
    canary: report?.canary ? canaryLine(report.canary) : '',
  };
}

type Context = { plain: boolean; url: boolean };

function walkStrings(
  value: unknown,
  visit: (text: string, context: Context) => string,
  context: Context = { plain: false, url: false },
): unknown {
  if (typeof value === 'string') return visit(value, context);
  if (Array.isArray(value)) return value.map((item) => walkStrings(item, visit, context));
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const plain = object.type === 'plain_text';
    return Object.fromEntries(
      Object.entries(object).map(([key, item]) => [
        key,
        walkStrings(item, visit, { plain, url: key === 'url' || key === 'image_url' || key === 'icon_url' }),
      ]),
    );
  }
  return value;
}

/** A copy of a Block Kit `template` with placeholders filled; unknown names are left as they are. */
export function renderPayload(
  template: Record<string, unknown>,
  facts: DeployFacts,
): Record<string, unknown> {
  const values = placeholderValues(facts);
  return walkStrings(template, (text, context) =>
    text.replace(PLACEHOLDER_PATTERN, (whole, name: string) => {
      if (!isPlaceholder(name)) return whole;
      // Mention markup means nothing in plain text, and would show as is.
      if (name === 'mentions') return context.plain ? '' : values.mentions;
      return context.plain || context.url ? values[name] : escapeMrkdwn(values[name]);
    }),
  ) as Record<string, unknown>;
}

/**
 * A Workflow Builder trigger's variables: a flat map of strings. From a template (its top-level
 * keys, placeholders filled, numbers and booleans as text, null as empty; validation refused
 * anything nested), or else every placeholder's value under its own name, then `fields`.
 */
export function triggerVariables(
  template: Record<string, unknown> | undefined,
  facts: DeployFacts,
): Record<string, string> {
  const values = placeholderValues(facts);
  if (!template) return { ...values, ...Object.fromEntries(facts.fields) };
  const fill = (text: string): string =>
    text.replace(PLACEHOLDER_PATTERN, (whole, name: string) => (isPlaceholder(name) ? values[name] : whole));
  const text = (value: unknown): string => {
    if (typeof value === 'string') return fill(value);
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    // null (an empty YAML value); anything nested was refused at validation.
    return value === null || value === undefined ? '' : JSON.stringify(value);
  };
  return Object.fromEntries(Object.entries(template).map(([name, value]) => [name, text(value)]));
}
