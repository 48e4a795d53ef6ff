/**
 * notify-slack's inputs: the spec (core's input kinds), the checks across inputs, and the step
 * from core's settings to NotifySettings. Validation, the deploy config (`environment` with
 * `config`) and error wording are core's resolveSettings; everything here is local work (file
 * reads for `report` and `payload-file-path`, YAML parsing) and runs before any network call.
 */
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import {
  input,
  readInput,
  type InputReader,
  type InputSpec,
  type Rule,
  type Settings,
} from '@cd-actions/core/inputs/inputs';
import { deployStatusInput, fieldsInput, reportInput } from '@cd-actions/core/inputs/notice';
import { setSecret } from '@cd-actions/core/runner/io';
import { DEFAULT_SLACK_API_URL, type Destination } from '@cd-actions/core/slack/deliver-types';
import type { NotifySettings } from '@cd-actions/core/slack/notify-types';
import {
  parsePayloadTemplate,
  readPayloadFile,
  templateProblems,
  type PayloadTemplate,
} from '@cd-actions/core/slack/payload-template';
import { PLACEHOLDERS, isPlaceholder } from '@cd-actions/core/slack/placeholders';

export const SLACK_TS = /^\d{9,11}\.\d{6}$/;
const TS_ACCEPTED =
  'a Slack message ts such as 1700000000.123456 (the ts output of an earlier notify-slack step)';
export const CHANNEL = /^(?:[CGD][A-Z0-9]{6,}|#?[a-z0-9][a-z0-9._-]{0,79})$/;
export const MENTION = /^(?:[UWS][A-Z0-9]{6,}|here|channel|everyone)$/;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
export const WEBHOOK_TYPES = ['incoming-webhook', 'webhook-trigger'] as const;
type WebhookType = (typeof WEBHOOK_TYPES)[number];

function webhookUrl(): InputSpec<string, false> {
  return {
    ...input.url({ protocols: ['https'], secret: true, config: false }),
    accepted:
      'an https URL of a Slack incoming webhook (https://hooks.slack.com/services/T.../B.../...) or Workflow Builder trigger (https://hooks.slack.com/triggers/T.../.../...)',
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

const PAYLOAD_FORM =
  "a Block Kit message as YAML or JSON ({ text, blocks, attachments }), or with webhook-type webhook-trigger the workflow's variables (name: value), with placeholders such as {{app}}";

/** The `payload` input: parsed, and its placeholder names checked, here; its shape once the destination is known. */
function payloadText(): InputSpec<PayloadTemplate, false> {
  return {
    ...input.document({ config: false }),
    accepted: PAYLOAD_FORM,
    parse: (raw) => {
      const parsed = parsePayloadTemplate(raw);
      return parsed.ok ? { ok: true, value: parsed.template } : { ok: false, reason: parsed.reason };
    },
  };
}

/** `payload-file-path`: a file inside the workspace (workspace-path.ts), read and parsed as `payload` is. */
function payloadFile(): InputSpec<PayloadTemplate, false> {
  const where = input.path({ config: false, what: 'a JSON or YAML payload file' });
  return {
    ...where,
    accepted: `the path of a JSON or YAML file, relative to the workspace and inside it, holding ${PAYLOAD_FORM}`,
    parse: (raw, context) => {
      const inside = where.parse(raw, context);
      if (!inside.ok) return inside;
      const parsed = readPayloadFile(inside.value, raw);
      return parsed.ok ? { ok: true, value: parsed.template } : { ok: false, reason: parsed.reason };
    },
  };
}

/**
 * The inputs by their action.yml names. `config` says which key of the deploy config's
 * environment entry supplies an input; `false` keeps a same-named key (the entry's `timeout` is
 * the deploy's, not Slack's) from leaking in.
 */
function notifySlackSpec() {
  return {
    'webhook-url': webhookUrl(),
    token: input.secret({
      config: false,
      pattern: /^xox[a-z]-[A-Za-z0-9-]+$/,
      patternDescription: 'a Slack token such as xoxb-... (a bot token with chat:write)',
    }),
    channel: input.string({
      config: 'slack.channel',
      pattern: CHANNEL,
      patternDescription: 'a Slack channel id such as C0123456789, or a channel name such as #deploys',
    }),
    status: deployStatusInput(),
    environment: deployInputs.environment,
    app: input.string({ config: 'app' }),
    version: input.string({ config: false }),
    strategy: input.string({ config: 'strategy' }),
    text: input.string({ config: false }),
    fields: fieldsInput(),
    'mention-on-failure': input.list({
      config: 'slack.mention-on-failure',
      itemDescription: 'Slack user ids (U...), user group ids (S...), here or channel',
      item: (id: string) =>
        MENTION.test(id) ? undefined : 'Slack user ids (U...), user group ids (S...), here or channel',
    }),
    'update-ts': input.string({ config: false, pattern: SLACK_TS, patternDescription: TS_ACCEPTED }),
    'thread-ts': input.string({ config: false, pattern: SLACK_TS, patternDescription: TS_ACCEPTED }),
    report: reportInput(),
    payload: payloadText(),
    'payload-file-path': payloadFile(),
    'webhook-type': input.enum(WEBHOOK_TYPES, { default: 'incoming-webhook', config: false }),
    config: deployInputs.config,
    'fail-on-error': input.boolean({ default: false, config: false }),
    timeout: input.duration({ default: '30s', min: '1s', max: '10m', config: false }),
  } as const;
}

/** The spec the runner's inputs are read with (and action.yml is checked against). */
export const spec = notifySlackSpec();

type NotifySpec = typeof spec;

const DESTINATION = 'either "webhook-url", or "token" with "channel"';

/** What a webhook URL's path says it is: Slack's incoming webhooks and triggers differ there. */
function webhookKind(url: string): WebhookType | undefined {
  const path = URL.canParse(url) ? new URL(url).pathname : '';
  if (path.startsWith('/services/')) return 'incoming-webhook';
  // Legacy Workflow Builder webhooks were /workflows/...; today's are /triggers/...
  if (path.startsWith('/triggers/') || path.startsWith('/workflows/')) return 'webhook-trigger';
  return undefined;
}

const PAYLOAD_INPUTS = ['payload', 'payload-file-path'] as const;

/**
 * The checks across inputs. `explicit` holds the inputs the step gave: a channel the config
 * supplies means nothing to a webhook, which posts to its own, so only a given one conflicts.
 */
function rules(explicit: ReadonlySet<string>): Rule<NotifySpec>[] {
  return [
    (s) => {
      const webhook = s.webhookUrl !== undefined;
      const token = s.token !== undefined;
      if (webhook && token)
        return {
          input: 'webhook-url',
          accepted: DESTINATION,
          message: `Inputs "webhook-url" and "token" were both given: expected ${DESTINATION}`,
        };
      if (!webhook && !token)
        return {
          input: 'webhook-url',
          accepted: DESTINATION,
          message: `Input "webhook-url" or "token" is required but neither was given: expected ${DESTINATION}`,
        };
      if (token && s.channel === undefined)
        return {
          input: 'channel',
          accepted: 'a Slack channel id such as C0123456789',
          message:
            'Input "channel" is required with "token": expected a Slack channel id such as C0123456789, or #name',
        };
      if (webhook && explicit.has('channel'))
        return {
          input: 'channel',
          accepted: DESTINATION,
          message:
            'Input "channel" was given with "webhook-url": a webhook always posts to its own channel; give "token" to choose a channel',
        };
      return undefined;
    },
    (s) =>
      s.webhookUrl !== undefined && s.updateTs !== undefined
        ? {
            input: 'update-ts',
            accepted: 'update-ts only with "token" and "channel"',
            message:
              'Input "update-ts" was given with "webhook-url": Slack cannot update a webhook\'s message; use "token" and "channel" to post the started message and update it',
          }
        : undefined,
    // The runner passes every input's default (INPUT_WEBHOOK-TYPE=incoming-webhook) whether the
    // step gave it or not, so only a trigger, which a token cannot post to, is refused.
    (s) =>
      s.webhookType === 'webhook-trigger' && s.token !== undefined
        ? {
            input: 'webhook-type',
            accepted: 'webhook-type webhook-trigger only with "webhook-url"',
            message:
              'Input "webhook-type" is webhook-trigger but "token" was given: a Workflow Builder trigger is reached by its URL; give it as "webhook-url"',
          }
        : undefined,
    (s) => {
      if (s.webhookUrl === undefined) return undefined;
      const kind = webhookKind(s.webhookUrl);
      if (kind === undefined || kind === s.webhookType) return undefined;
      const is = kind === 'webhook-trigger' ? 'a Workflow Builder trigger' : 'an incoming webhook';
      return {
        input: 'webhook-type',
        accepted: `webhook-type ${kind} for ${is} URL`,
        message: `Input "webhook-url" is ${is} URL but "webhook-type" is ${s.webhookType}: set webhook-type: ${kind}`,
      };
    },
    (s) =>
      s.webhookType === 'webhook-trigger' && s.webhookUrl !== undefined && s.threadTs !== undefined
        ? {
            input: 'thread-ts',
            accepted: 'thread-ts with an incoming webhook or "token"',
            message:
              'Input "thread-ts" was given with webhook-type webhook-trigger: a trigger starts a workflow, it does not reply in a thread',
          }
        : undefined,
    (s) =>
      s.payload !== undefined && s.payloadFilePath !== undefined
        ? {
            input: 'payload-file-path',
            accepted: 'payload or payload-file-path, not both',
            message: 'Inputs "payload" and "payload-file-path" were both given: expected one of them',
          }
        : undefined,
    (s) => {
      const given = PAYLOAD_INPUTS.find((name) => explicit.has(name));
      return given !== undefined && s.fields !== undefined
        ? {
            input: given,
            accepted: `${given} alone, or fields with the default message`,
            message: `Input "${given}" was given with "fields": fields only shape the default message (or the trigger's default variables); write them into the payload instead`,
          }
        : undefined;
    },
    (s) => {
      if (s.webhookType !== 'webhook-trigger' || s.webhookUrl === undefined || s.fields === undefined)
        return undefined;
      const taken = Object.keys(s.fields as Record<string, unknown>).find(isPlaceholder);
      return taken === undefined
        ? undefined
        : {
            input: 'fields',
            accepted: `field names other than the trigger's own variables (${PLACEHOLDERS.join(', ')})`,
            message: `Input "fields" names "${taken}", one of the variables the trigger is sent already: choose another name`,
          };
    },
    (s) => {
      const given = PAYLOAD_INPUTS.find((name) => explicit.has(name));
      const template = s.payload ?? s.payloadFilePath;
      if (given === undefined || template === undefined) return undefined;
      const trigger = s.webhookUrl !== undefined && s.webhookType === 'webhook-trigger';
      const problems = templateProblems(template, trigger ? 'trigger' : 'message');
      if (problems.length === 0) return undefined;
      const more = problems.length > 5 ? `; and ${problems.length - 5} more` : '';
      const what = trigger ? "not a Workflow Builder trigger's variables" : 'not valid Block Kit';
      return {
        input: given,
        accepted: PAYLOAD_FORM,
        message: `Input "${given}" is ${what}: ${problems.slice(0, 5).join('; ')}${more}`,
      };
    },
  ];
}

/** The webhook URL's last path segment is its secret: masked on its own too, in case a path is logged. */
function maskWebhookSecret(raw: string): void {
  if (!URL.canParse(raw)) return;
  const last = new URL(raw).pathname.split('/').pop() ?? '';
  if (last.length >= 8) setSecret(last);
}

function toNotifySettings(s: Settings<NotifySpec>, env: NodeJS.ProcessEnv): NotifySettings {
  const destination: Destination =
    s.webhookUrl !== undefined
      ? { kind: s.webhookType === 'webhook-trigger' ? 'trigger' : 'webhook', url: s.webhookUrl }
      : {
          kind: 'api',
          token: s.token!,
          channel: s.channel!,
          apiUrl: (env.SLACK_API_URL ?? '').trim() || DEFAULT_SLACK_API_URL,
        };
  const fields = (s.fields ?? {}) as Record<string, unknown>;
  const settings: NotifySettings = {
    destination,
    status: s.status,
    fields: Object.entries(fields).map(([k, v]): [string, string] => [
      k,
      typeof v === 'string' ? v : v === null || v === undefined ? '' : JSON.stringify(v),
    ]),
    mentions: [...(s.mentionOnFailure ?? [])],
    failOnError: s.failOnError,
    timeoutMs: s.timeout,
  };
  // Absent rather than undefined, so a settings object prints and compares as before.
  if (s.app !== undefined) settings.app = s.app;
  if (s.environment !== undefined) settings.environment = s.environment;
  if (s.version !== undefined) settings.version = s.version;
  if (s.strategy !== undefined) settings.strategy = s.strategy;
  if (s.text !== undefined) settings.text = s.text;
  if (s.updateTs !== undefined) settings.updateTs = s.updateTs;
  if (s.threadTs !== undefined) settings.threadTs = s.threadTs;
  if (s.report !== undefined) settings.report = s.report;
  const template = s.payload ?? s.payloadFilePath;
  if (template !== undefined) settings.payload = template.value;
  return Object.freeze(settings);
}

export interface ReadOptions {
  /** Reads one raw input; the runner's INPUT_<NAME> unless a test injects another. */
  readonly read?: InputReader;
  /** GITHUB_WORKSPACE (config and report paths) and SLACK_API_URL; process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Reads and validates every input, with the deploy config's entry for `environment` as defaults;
 * returns the settings or throws one InputError listing every problem (secrets shown as ***).
 */
export function readNotifySlackSettings(options: ReadOptions = {}): NotifySettings {
  const env = options.env ?? process.env;
  const readRaw = options.read ?? readInput;
  const explicit = new Set<string>();
  const read: InputReader = (name) => {
    const raw = readRaw(name);
    if (raw.trim() === '') return raw;
    explicit.add(name);
    if (name === 'webhook-url') maskWebhookSecret(raw.trim());
    return raw;
  };
  const settings = resolveSettings(spec, {
    read,
    rules: rules(explicit),
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
  });
  return toNotifySettings(settings, env);
}
