/**
 * `{{name}}` placeholders in a custom `payload`, filled with the same facts as the default
 * message. They are `${{ }}`-free so a workflow need not interpolate (and so a commit message
 * can never inject YAML). Values are escaped for mrkdwn except inside plain_text objects and
 * URLs, where Slack shows text as is.
 */
import {
  STATUS_STYLE,
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
] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const PATTERN = /\{\{\s*([a-zA-Z_][\w-]*)\s*\}\}/g;

/** Every placeholder name used in string values of `template` that is not one we fill. */
export function unknownPlaceholders(template: unknown): string[] {
  const unknown = new Set<string>();
  walkStrings(template, (text) => {
    for (const match of text.matchAll(PATTERN))
      if (!(PLACEHOLDERS as readonly string[]).includes(match[1]!)) unknown.add(match[1]!);
    return text;
  });
  return [...unknown];
}

export function placeholderValues(facts: DeployFacts): Record<Placeholder, string> {
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
    mentions: '',
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

/** A copy of `template` with placeholders filled; unknown names are left as they are. */
export function renderPayload(
  template: Record<string, unknown>,
  facts: DeployFacts,
): Record<string, unknown> {
  const values = placeholderValues(facts);
  const mentions = wantsMentions(facts.status) ? facts.mentions.map(mentionMarkup).join(' ') : '';
  return walkStrings(template, (text, context) =>
    text.replace(PATTERN, (whole, name: string) => {
      if (name === 'mentions') return context.plain ? '' : mentions;
      if (!(name in values)) return whole;
      const value = values[name as Placeholder];
      return context.plain || context.url ? value : escapeMrkdwn(value);
    }),
  ) as Record<string, unknown>;
}
