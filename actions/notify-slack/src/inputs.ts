/**
 * notify-slack's inputs: the spec (core's input kinds) and the checks across inputs. Everything
 * here is local work (a file read for `report`, YAML parsing) and runs before any network call.
 *
 * Settling is done here rather than by core's getSettings because that module loads
 * @actions/core, whose ~490 kB of HTTP client would take this action over its start-up budget
 * (500 kB bundle, 60 ms to a validation failure). The problem wording is the same.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { InputError, type InputProblem } from '../../../packages/core/src/errors.js';
import { DEFAULT_CONFIG_PATH, configDefaults, type ConfigDefault } from './deploy-config.js';
import * as kinds from '../../../packages/core/src/inputs-kinds.js';
import type { InputSpec, Parsed } from '../../../packages/core/src/inputs-kinds.js';
import { checkBlockKitMessage } from '../../../packages/core/src/slack/block-kit.js';
import { DEFAULT_SLACK_API_URL, type Destination } from '../../../packages/core/src/slack/deliver-types.js';
import { summarizeReport } from '../../../packages/core/src/slack/gate-report.js';
import { DEPLOY_STATUSES } from '../../../packages/core/src/slack/message.js';
import type { NotifySettings } from '../../../packages/core/src/slack/notify-types.js';
import { PLACEHOLDERS, unknownPlaceholders } from '../../../packages/core/src/slack/placeholders.js';

export const SLACK_TS = /^\d{9,11}\.\d{6}$/;
const TS_ACCEPTED =
  'a Slack message ts such as 1700000000.123456 (the ts output of an earlier notify-slack step)';
export const CHANNEL = /^(?:[CGD][A-Z0-9]{6,}|#?[a-z0-9][a-z0-9._-]{0,79})$/;
export const MENTION = /^(?:[UWS][A-Z0-9]{6,}|here|channel|everyone)$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** A spec whose parsed value gets one more check; `check` returns the reason it fails. */
function refine<T, A extends boolean>(
  spec: InputSpec<T, A>,
  check: (value: T) => string | undefined,
): InputSpec<T, A> {
  return {
    ...spec,
    parse: (raw: string): Parsed<T> => {
      const parsed = spec.parse(raw);
      if (!parsed.ok) return parsed;
      const reason = check(parsed.value);
      return reason === undefined ? parsed : { ok: false, reason };
    },
  };
}

function webhookUrl(): InputSpec<string, false> {
  const base = kinds.url({ protocols: ['https'], secret: true });
  return {
    ...base,
    accepted:
      'an https URL of a Slack incoming webhook, such as https://hooks.slack.com/services/T.../B.../...',
    parse: (raw) => {
      if (!URL.canParse(raw)) return { ok: false };
      const url = new URL(raw);
      // Plain http only to this machine: a local proxy or a test double, never across a network.
      if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return { ok: true, value: raw };
      if (url.protocol !== 'https:')
        return { ok: false, reason: `the scheme ${url.protocol} is not allowed` };
      return { ok: true, value: raw };
    },
  };
}

function reportFile(env: NodeJS.ProcessEnv): InputSpec<NonNullable<NotifySettings['report']>, false> {
  return {
    ...kinds.string(),
    accepted:
      'the path of a JSON report shaped { verdict, checks: [{ name, verdict }] } (health-gate or deploy output)',
    parse: (raw) => {
      const path = isAbsolute(raw) ? raw : resolve(env.GITHUB_WORKSPACE ?? process.cwd(), raw);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
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

export function notifySlackSpec(env: NodeJS.ProcessEnv = process.env) {
  return {
    'webhook-url': webhookUrl(),
    token: kinds.secret({
      pattern: /^xox[a-z]-[A-Za-z0-9-]+$/,
      patternDescription: 'a Slack token such as xoxb-... (a bot token with chat:write)',
    }),
    channel: kinds.string({
      pattern: CHANNEL,
      patternDescription: 'a Slack channel id such as C0123456789, or a channel name such as #deploys',
    }),
    status: kinds.oneOf(DEPLOY_STATUSES, { required: true }),
    environment: kinds.string(),
    app: kinds.string(),
    version: kinds.string(),
    strategy: kinds.string(),
    text: kinds.string(),
    fields: refine(
      kinds.document({
        shape: 'mapping',
        description: 'a YAML map of name: value, such as "region: eu-west-1"',
      }),
      (value) => {
        const bad = Object.entries(value as Record<string, unknown>).find(
          ([, v]) => v !== null && typeof v === 'object',
        );
        return bad ? `the value of "${bad[0]}" is not a single value` : undefined;
      },
    ),
    'mention-on-failure': kinds.list({
      itemDescription: 'Slack user ids (U...), user group ids (S...), here or channel',
      item: (id: string) =>
        MENTION.test(id) ? undefined : 'Slack user ids (U...), user group ids (S...), here or channel',
    }),
    'update-ts': kinds.string({ pattern: SLACK_TS, patternDescription: TS_ACCEPTED }),
    'thread-ts': kinds.string({ pattern: SLACK_TS, patternDescription: TS_ACCEPTED }),
    report: reportFile(env),
    payload: refine(
      kinds.document({
        shape: 'mapping',
        description: `a Block Kit message as YAML or JSON ({ text, blocks, attachments }) with placeholders such as {{app}} (${PLACEHOLDERS.join(', ')})`,
      }),
      (value) => {
        const unknown = unknownPlaceholders(value);
        if (unknown.length > 0) return `unknown placeholder(s) ${unknown.map((n) => `{{${n}}}`).join(', ')}`;
        const problems = checkBlockKitMessage(value);
        return problems.length > 0 ? `not valid Block Kit: ${problems.slice(0, 5).join('; ')}` : undefined;
      },
    ),
    'fail-on-error': kinds.boolean({ default: false }),
    config: kinds.string({ default: DEFAULT_CONFIG_PATH }),
    timeout: kinds.duration({ default: '30s', min: '1s', max: '10m' }),
  } as const;
}

export interface InputSource {
  read: (name: string) => string;
  /** Masks a secret in the log; called before any validation could echo it. */
  mask: (value: string) => void;
}

function shown(raw: string, secret: boolean): string {
  if (secret) return '"***"';
  return JSON.stringify(raw.length > 120 ? `${raw.slice(0, 100)}…` : raw);
}

function problem(
  input: string,
  raw: string,
  secret: boolean,
  accepted: string,
  reason?: string,
  where = '',
): InputProblem {
  return {
    input,
    value: secret ? '***' : raw,
    accepted,
    message: `Input "${input}" has value ${shown(raw, secret)}${where}: ${reason ? `${reason}; ` : ''}expected ${accepted}`,
  };
}

/** The webhook URL's last path segment is its secret: masked too, in case a path is ever logged. */
function maskSecret(name: string, raw: string, mask: (value: string) => void): void {
  mask(raw);
  if (name === 'webhook-url' && URL.canParse(raw)) {
    const last = new URL(raw).pathname.split('/').pop() ?? '';
    if (last.length >= 8) mask(last);
  }
}

/**
 * Reads and validates every input; returns the settings or throws one InputError listing every
 * problem (secrets shown as ***).
 */
export function readNotifySlackSettings(
  source: InputSource,
  env: NodeJS.ProcessEnv = process.env,
): NotifySettings {
  const spec: Record<string, InputSpec> = notifySlackSpec(env);
  const problems: InputProblem[] = [];
  const values = new Map<string, unknown>();
  const raws = new Map<string, string>();

  const explicit = new Map<string, string>();
  for (const [name, inputSpec] of Object.entries(spec)) {
    const given = source.read(name).trim();
    if (given === '') continue;
    if (inputSpec.secret) maskSecret(name, given, source.mask);
    explicit.set(name, given);
  }
  const fromConfig = new Map<string, ConfigDefault>();
  const environment = explicit.get('environment');
  if (environment !== undefined) {
    const loaded = configDefaults({
      file: explicit.get('config') ?? DEFAULT_CONFIG_PATH,
      explicit: explicit.has('config'),
      environment,
      workspace: env.GITHUB_WORKSPACE ?? process.cwd(),
    });
    problems.push(...loaded.problems);
    for (const [name, value] of loaded.defaults) {
      // A config channel means nothing to a webhook, which has its own.
      if (name === 'channel' && !explicit.has('token')) continue;
      fromConfig.set(name, value);
    }
  }

  for (const [name, inputSpec] of Object.entries(spec)) {
    const configured = fromConfig.get(name);
    const raw = explicit.get(name) ?? configured?.raw ?? inputSpec.default;
    if (raw === undefined) {
      if (inputSpec.required)
        problems.push({
          input: name,
          value: '',
          accepted: inputSpec.accepted,
          message: `Input "${name}" is required but was not given: expected ${inputSpec.accepted}`,
        });
      continue;
    }
    // GitHub's job.status is lower case already; a hand-typed "Success" means the same.
    const normalised = name === 'status' ? raw.toLowerCase() : raw;
    raws.set(name, raw);
    const parsed = inputSpec.parse(normalised);
    if (parsed.ok) values.set(name, parsed.value);
    else {
      const where = explicit.has(name) || !configured ? '' : ` (from ${configured.where})`;
      problems.push(
        problem(name, raw, inputSpec.secret, parsed.accepted ?? inputSpec.accepted, parsed.reason, where),
      );
    }
  }

  const has = (name: string): boolean => explicit.has(name) || fromConfig.has(name);
  const rule = (input: string, accepted: string, message: string): void => {
    problems.push({ input, value: spec[input]?.secret ? '***' : (raws.get(input) ?? ''), accepted, message });
  };
  const destinationAccepted = 'either "webhook-url", or "token" with "channel"';
  if (has('webhook-url') && has('token'))
    rule(
      'webhook-url',
      destinationAccepted,
      `Inputs "webhook-url" and "token" were both given: expected ${destinationAccepted}`,
    );
  else if (!has('webhook-url') && !has('token'))
    rule(
      'webhook-url',
      destinationAccepted,
      `Input "webhook-url" or "token" is required but neither was given: expected ${destinationAccepted}`,
    );
  else if (has('token') && !has('channel'))
    rule(
      'channel',
      'a Slack channel id such as C0123456789',
      'Input "channel" is required with "token": expected a Slack channel id such as C0123456789, or #name',
    );
  else if (has('webhook-url') && has('channel'))
    rule(
      'channel',
      destinationAccepted,
      'Input "channel" was given with "webhook-url": a webhook always posts to its own channel; give "token" to choose a channel',
    );
  if (has('webhook-url') && has('update-ts'))
    rule(
      'update-ts',
      'update-ts only with "token" and "channel"',
      'Input "update-ts" was given with "webhook-url": Slack cannot update a webhook\'s message; use "token" and "channel" to post the started message and update it',
    );
  if (has('payload') && (has('fields') || has('report')))
    rule(
      'payload',
      'payload alone, or fields/report with the default message',
      'Input "payload" was given with "fields" or "report": those only shape the default message; use placeholders in the payload instead',
    );

  if (problems.length > 0) throw new InputError(problems);

  const get = <T>(name: string): T | undefined => values.get(name) as T | undefined;
  const destination: Destination = has('webhook-url')
    ? { kind: 'webhook', url: get<string>('webhook-url')! }
    : {
        kind: 'api',
        token: get<string>('token')!,
        channel: get<string>('channel')!,
        apiUrl: (env.SLACK_API_URL ?? '').trim() || DEFAULT_SLACK_API_URL,
      };
  const optional = (key: keyof NotifySettings, name: string) =>
    values.has(name) ? { [key]: values.get(name) } : {};
  const fields = get<Record<string, unknown>>('fields') ?? {};
  return Object.freeze({
    destination,
    status: get<NotifySettings['status']>('status')!,
    ...optional('app', 'app'),
    ...optional('environment', 'environment'),
    ...optional('version', 'version'),
    ...optional('strategy', 'strategy'),
    ...optional('text', 'text'),
    fields: Object.entries(fields).map(([k, v]): [string, string] => [
      k,
      typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v),
    ]),
    mentions: [...(get<readonly string[]>('mention-on-failure') ?? [])],
    ...optional('updateTs', 'update-ts'),
    ...optional('threadTs', 'thread-ts'),
    ...optional('report', 'report'),
    ...(values.has('payload') ? { payload: structuredClone(get<Record<string, unknown>>('payload')!) } : {}),
    failOnError: get<boolean>('fail-on-error') ?? false,
    timeoutMs: get<number>('timeout') ?? 30_000,
  });
}
