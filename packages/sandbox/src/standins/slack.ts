/**
 * A Slack stand-in: incoming webhooks, a Workflow Builder webhook trigger, and the Web API methods
 * chat.postMessage, chat.update, conversations.history, conversations.replies and auth.test. It
 * answers as Slack does (status codes, bodies, error codes), checks the token and each message
 * against Block Kit's shapes and limits (a trigger's body against what Workflow Builder reads: a
 * flat JSON object of string variables), records what it accepted and refused, and takes its
 * faults (latency, 429 with Retry-After, 5xx, `ok: false` bodies, dropped or stalled connections
 * before or after the message is recorded) from `Faults`.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AuditLog, type FaultRule, type Faults, applyConnectionFault, faultNote } from '../faults.js';
import { checkMessage, type MessageProblem } from './block-kit.js';
import { BodyTooLargeError, headerValue, listenOnLoopback, readBody, sendJson, sendText } from './http.js';

export interface SlackMessage {
  id: number;
  via: 'webhook' | 'api';
  method: 'webhook' | 'chat.postMessage' | 'chat.update';
  /** Channel id. */
  channel: string;
  ts: string;
  threadTs?: string;
  /** The message as it stands after this request (chat.update keeps what it was not given). */
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  /** Message metadata (`event_type`, `event_payload`) as posted. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** The request's arguments as sent, without the token. */
  payload: unknown;
  receivedAt: string;
}

/** One start of the Workflow Builder trigger: the variables it received. */
export interface SlackTriggerRun {
  id: number;
  variables: Record<string, string>;
  receivedAt: string;
}

export interface SlackRejection {
  method: string;
  status: number;
  error: string;
  payload: unknown;
}

export interface SlackStandIn {
  /** http://127.0.0.1:<port>; the Web API is at `${url}/api/<method>`. */
  url: string;
  /** A valid incoming webhook; it posts to #deploys. */
  webhookUrl: string;
  /** A valid Workflow Builder trigger URL (https://hooks.slack.com/triggers/... in Slack). */
  triggerUrl: string;
  /** Every accepted start of the trigger, in arrival order. */
  triggers: SlackTriggerRun[];
  /**
   * The variables the trigger's workflow declares: a start missing one is refused, as Slack
   * refuses it. Empty (the default): any variables.
   */
  triggerVariables: string[];
  /** A valid bot token (xoxb-...). */
  token: string;
  /** Channel name -> id. */
  channels: Record<string, string>;
  /** Every accepted message in arrival order, updates included (method chat.update). */
  messages: SlackMessage[];
  /** Requests refused for their token or content (not injected faults: see the audit log). */
  rejected: SlackRejection[];
  /** The current state of a message after its updates; channel by id, name or #name. */
  message(channel: string, ts: string): SlackMessage | undefined;
  /** The replies under a message (its current state each, oldest first), without the parent. */
  thread(channel: string, ts: string): SlackMessage[];
  stop(): Promise<void>;
}

const WEBHOOK_CHANNEL_ID = 'C0DEPLOYS1';
const CHANNELS: Record<string, string> = {
  deploys: WEBHOOK_CHANNEL_ID,
  alerts: 'C0ALERTS01',
  general: 'C0GENERAL1',
};
const TEAM_ID = 'T000';
const WEBHOOK_ID = 'B000';
const TRIGGER_ID = '3141592653589';
const BOT = { user: 'U0CDBOT001', botId: 'B0CDBOT001', appId: 'A0CDAPP001' };
const API_METHODS = [
  'auth.test',
  'chat.postMessage',
  'chat.update',
  'conversations.history',
  'conversations.replies',
] as const;
type ApiMethod = (typeof API_METHODS)[number];

type Args = Record<string, unknown>;
type ApiAnswer = { ok: true; [key: string]: unknown } | { ok: false; error: string; [key: string]: unknown };

export async function startSlack(options: { faults: Faults; audit: AuditLog }): Promise<SlackStandIn> {
  const { faults, audit } = options;
  const token = `xoxb-${digits(12)}-${digits(13)}-${randomBytes(12).toString('hex')}`;
  const webhookSecret = randomBytes(12).toString('hex');
  const triggerSecret = randomBytes(16).toString('hex');
  const triggers: SlackTriggerRun[] = [];
  const messages: SlackMessage[] = [];
  const rejected: SlackRejection[] = [];
  const nextTs = tsClock();

  const channelId = (nameOrId: string): string | undefined => {
    if (Object.values(CHANNELS).includes(nameOrId)) return nameOrId;
    return CHANNELS[nameOrId.replace(/^#/, '')];
  };
  const current = (channel: string, ts: string): SlackMessage | undefined =>
    messages.findLast((m) => m.channel === channel && m.ts === ts);

  const record = (fields: Omit<SlackMessage, 'id' | 'receivedAt' | 'ts'> & { ts?: string }): SlackMessage => {
    const message: SlackMessage = {
      ...fields,
      id: messages.length + 1,
      ts: fields.ts ?? nextTs(),
      receivedAt: new Date().toISOString(),
    };
    messages.push(message);
    return message;
  };

  const postMessage = (args: Args): ApiAnswer => {
    if (typeof args.channel !== 'string' || args.channel === '') return missing('channel');
    const channel = channelId(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const problem = checkMessage(args);
    if (problem) return refusal(problem);
    const message = record({
      via: 'api',
      method: 'chat.postMessage',
      channel,
      ...(typeof args.thread_ts === 'string' ? { threadTs: args.thread_ts } : {}),
      ...content(args),
      ...metadataOf(args),
      payload: args,
    });
    return { ok: true, channel, ts: message.ts, message: asSlackReturnsIt(message, true) };
  };

  /** Each message of a channel as it stands now (updates applied), oldest first. */
  const channelMessages = (channel: string): SlackMessage[] => {
    const byTs = new Map<string, SlackMessage>();
    for (const m of messages) if (m.channel === channel) byTs.set(m.ts, m);
    return [...byTs.values()].sort((a, b) => compareTs(a.ts, b.ts));
  };

  /** Conversation ids only: unlike chat.postMessage, the conversations methods take no #name. */
  const conversation = (args: Args): { channel: string } | ApiAnswer => {
    if (typeof args.channel !== 'string' || args.channel === '') return missing('channel');
    if (!Object.values(CHANNELS).includes(args.channel)) return { ok: false, error: 'channel_not_found' };
    return { channel: args.channel };
  };

  /** conversations.history: the channel's own messages (not thread replies), newest first. */
  const history = (args: Args): ApiAnswer => {
    const found = conversation(args);
    if ('ok' in found) return found;
    const window = timeWindow(args);
    if ('ok' in window) return window;
    const all = channelMessages(found.channel)
      .filter((m) => m.threadTs === undefined || m.threadTs === m.ts)
      .filter(window.within)
      .reverse();
    return { ok: true, ...page(all, args, (m) => asSlackReturnsIt(m, flag(args.include_all_metadata))) };
  };

  /** conversations.replies: the thread's parent, then its replies oldest first. */
  const replies = (args: Args): ApiAnswer => {
    const found = conversation(args);
    if ('ok' in found) return found;
    if (typeof args.ts !== 'string' || args.ts === '') return missing('ts');
    const window = timeWindow(args);
    if ('ok' in window) return window;
    const all = channelMessages(found.channel);
    const parent = all.find((m) => m.ts === args.ts);
    if (!parent) return { ok: false, error: 'thread_not_found' };
    const thread = [
      parent,
      ...all.filter((m) => m.threadTs === args.ts && m.ts !== args.ts).filter(window.within),
    ];
    return { ok: true, ...page(thread, args, (m) => asSlackReturnsIt(m, flag(args.include_all_metadata))) };
  };

  const update = (args: Args): ApiAnswer => {
    if (typeof args.channel !== 'string' || args.channel === '') return missing('channel');
    if (typeof args.ts !== 'string' || args.ts === '') return missing('ts');
    const channel = channelId(args.channel);
    if (!channel) return { ok: false, error: 'channel_not_found' };
    const before = current(channel, args.ts);
    if (!before) return { ok: false, error: 'message_not_found' };
    // A webhook's message belongs to the webhook, not to the bot token.
    if (before.via === 'webhook') return { ok: false, error: 'cant_update_message' };
    const problem = checkMessage(args);
    if (problem) return refusal(problem);
    const { text, blocks, attachments } = { ...stateOf(before), ...content(args) };
    const message = record({
      via: 'api',
      method: 'chat.update',
      channel,
      ts: before.ts,
      ...(before.threadTs ? { threadTs: before.threadTs } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(blocks !== undefined ? { blocks } : {}),
      ...(attachments !== undefined ? { attachments } : {}),
      // The message keeps its metadata unless the update gives new metadata.
      ...(before.metadata ? { metadata: before.metadata } : {}),
      ...metadataOf(args),
      payload: args,
    });
    return {
      ok: true,
      channel,
      ts: message.ts,
      text: message.text ?? '',
      message: asSlackReturnsIt(message),
    };
  };

  const authTest = (baseUrl: string): ApiAnswer => ({
    ok: true,
    url: `${baseUrl}/`,
    team: 'Sandbox',
    user: 'cd-actions',
    team_id: TEAM_ID,
    user_id: BOT.user,
    bot_id: BOT.botId,
    is_enterprise_install: false,
  });

  const handleApi = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: ApiMethod,
    url: URL,
  ): Promise<number> => {
    const parsed = parseApiArgs(await readBody(req), headerValue(req, 'content-type'), url);
    if (!parsed.ok) {
      rejected.push({ method, status: 200, error: parsed.error, payload: undefined });
      sendJson(res, 200, { ok: false, error: parsed.error });
      return 200;
    }
    const { args, bodyToken } = parsed;
    const given = bearer(headerValue(req, 'authorization')) ?? bodyToken;
    let answer: ApiAnswer;
    if (given === undefined) answer = { ok: false, error: 'not_authed' };
    else if (given !== token) answer = { ok: false, error: 'invalid_auth' };
    else if (method === 'auth.test') answer = authTest(`http://${headerValue(req, 'host') ?? '127.0.0.1'}`);
    else if (method === 'chat.postMessage') answer = postMessage(args);
    else if (method === 'conversations.history') answer = history(args);
    else if (method === 'conversations.replies') answer = replies(args);
    else answer = update(args);
    if (!answer.ok) rejected.push({ method, status: 200, error: answer.error, payload: args });
    // Slack answers its errors with HTTP 200 and ok:false.
    sendJson(res, 200, answer);
    return 200;
  };

  const handleWebhook = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<number> => {
    const body = await readBody(req);
    const refuse = (status: number, error: string, payload: unknown): number => {
      rejected.push({ method: 'webhook', status, error, payload });
      sendText(res, status, error);
      return status;
    };
    const [, team, hook, secret] = /^\/services\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
    if (team !== TEAM_ID || hook !== WEBHOOK_ID) return refuse(404, 'no_service', undefined);
    if (secret !== webhookSecret) return refuse(403, 'invalid_token', undefined);
    if (req.method !== 'POST') return refuse(400, 'invalid_payload', undefined);
    const payload = parseWebhookPayload(body, headerValue(req, 'content-type'));
    if (!payload) return refuse(400, 'invalid_payload', body);
    const problem = checkMessage(payload);
    if (problem) return refuse(400, problem.error, payload);
    record({
      via: 'webhook',
      method: 'webhook',
      channel: WEBHOOK_CHANNEL_ID,
      ...(typeof payload.thread_ts === 'string' ? { threadTs: payload.thread_ts } : {}),
      ...content(payload),
      payload,
    });
    sendText(res, 200, 'ok');
    return 200;
  };

  /**
   * A Workflow Builder trigger: JSON `{ ok: true }` once the workflow starts, else an HTTP error
   * with `{ ok: false, error }`. Slack documents no error codes for triggers: the codes here are
   * the stand-in's own; the statuses (400 for the body, 401 for the secret, 404 for the URL) are
   * what a client can rely on.
   */
  const handleTrigger = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<number> => {
    const body = await readBody(req);
    const refuse = (status: number, error: string, payload: unknown, errors: string[] = []): number => {
      rejected.push({ method: 'trigger', status, error, payload });
      sendJson(res, status, { ok: false, error, ...(errors.length > 0 ? { errors } : {}) });
      return status;
    };
    const [, team, trigger, secret] = /^\/triggers\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
    if (team !== TEAM_ID || trigger !== TRIGGER_ID) return refuse(404, 'trigger_not_found', undefined);
    if (secret !== triggerSecret) return refuse(401, 'invalid_auth', undefined);
    if (req.method !== 'POST') return refuse(400, 'invalid_request', undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return refuse(400, 'invalid_json', body);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return refuse(400, 'invalid_payload', parsed, ['the body is not a JSON object']);
    // Workflow Builder reads top-level string variables only: anything else cannot be used.
    const errors = Object.entries(parsed as Record<string, unknown>)
      .filter(([, value]) => typeof value !== 'string')
      .map(
        ([name, value]) =>
          `variable "${name}" is ${Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`}, not a string`,
      );
    for (const name of standIn.triggerVariables)
      if (!(name in parsed)) errors.push(`variable "${name}" is missing`);
    if (errors.length > 0) return refuse(400, 'invalid_payload', parsed, errors);
    triggers.push({
      id: triggers.length + 1,
      variables: { ...(parsed as Record<string, string>) },
      receivedAt: new Date().toISOString(),
    });
    sendJson(res, 200, { ok: true });
    return 200;
  };

  const server = await listenOnLoopback(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isWebhook = url.pathname.startsWith('/services/');
    const isTrigger = url.pathname.startsWith('/triggers/');
    const apiMethod = /^\/api\/(.+)$/.exec(url.pathname)?.[1];
    const verb = isWebhook ? 'webhook' : isTrigger ? 'trigger' : (apiMethod ?? 'unknown');
    // Webhook and trigger paths carry their secret: it never reaches the audit log or a fault matcher.
    const safePath = isWebhook || isTrigger ? url.pathname.replace(/[^/]+$/, '***') : url.pathname;
    const method = req.method ?? 'GET';
    const fault = faults.take('slack', { verb, method, path: safePath });
    const audited = (status: number): void => {
      audit.record({
        target: 'slack',
        user: 'slack',
        verb,
        method,
        path: safePath,
        status,
        ...(fault ? { fault: faultNote(fault) } : {}),
      });
      faults.served('slack', { verb, method, path: safePath }, status);
    };

    if (fault && !(await applyConnectionFault(fault, req, res))) return audited(0);
    if (fault && (fault.status !== undefined || fault.body !== undefined)) {
      await readBody(req).catch(() => '');
      return audited(answerFault(res, fault, isWebhook));
    }
    try {
      if (isWebhook) return audited(await handleWebhook(req, res, url.pathname));
      if (isTrigger) return audited(await handleTrigger(req, res, url.pathname));
      if (apiMethod && (API_METHODS as readonly string[]).includes(apiMethod))
        return audited(await handleApi(req, res, apiMethod as ApiMethod, url));
      sendJson(res, 404, { ok: false, error: 'unknown_method', req_method: apiMethod ?? url.pathname });
      return audited(404);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      sendText(res, 413, 'request_too_large');
      return audited(413);
    }
  });

  const standIn: SlackStandIn = {
    url: server.url,
    webhookUrl: `${server.url}/services/${TEAM_ID}/${WEBHOOK_ID}/${webhookSecret}`,
    triggerUrl: `${server.url}/triggers/${TEAM_ID}/${TRIGGER_ID}/${triggerSecret}`,
    triggers,
    triggerVariables: [],
    token,
    channels: { ...CHANNELS },
    messages,
    rejected,
    message: (channel, ts) => {
      const id = channelId(channel);
      return id ? current(id, ts) : undefined;
    },
    thread: (channel, ts) => {
      const id = channelId(channel);
      if (!id) return [];
      const replies = new Map<string, SlackMessage>();
      for (const m of messages)
        if (m.channel === id && m.threadTs === ts && m.ts !== ts) replies.set(m.ts, m);
      return [...replies.values()].sort((a, b) => compareTs(a.ts, b.ts));
    },
    stop: () => server.stop(),
  };
  return standIn;
}

/** Slack's answer to an injected fault: its usual bodies unless the rule gives one. */
function answerFault(res: ServerResponse, fault: FaultRule, isWebhook: boolean): number {
  const status = fault.status ?? 200;
  const headers: Record<string, string> = {};
  if (status === 429 || fault.retryAfterSeconds !== undefined)
    headers['retry-after'] = String(fault.retryAfterSeconds ?? 1);
  if (fault.body !== undefined) {
    if (typeof fault.body === 'string') sendText(res, status, fault.body, headers);
    else sendJson(res, status, fault.body, headers);
    return status;
  }
  const error = status === 429 ? 'ratelimited' : 'internal_error';
  if (isWebhook) sendText(res, status, status === 429 ? 'rate_limited' : error, headers);
  else sendJson(res, status, { ok: false, error }, headers);
  return status;
}

type ParsedArgs = { ok: true; args: Args; bodyToken?: string } | { ok: false; error: string };

/**
 * Web API arguments from a JSON or form body, plus query parameters, with any token taken out.
 * Slack reads a token in the arguments only from a form body; a JSON body needs the header.
 */
function parseApiArgs(body: string, contentType: string | undefined, url: URL): ParsedArgs {
  const args: Args = Object.fromEntries(url.searchParams);
  const isJson = contentType?.includes('application/json') ?? false;
  if (body.trim() !== '') {
    if (isJson) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { ok: false, error: 'invalid_json' };
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        return { ok: false, error: 'invalid_json' };
      Object.assign(args, parsed);
    } else {
      Object.assign(args, Object.fromEntries(new URLSearchParams(body)));
    }
  }
  const bodyToken = !isJson && typeof args.token === 'string' ? args.token : undefined;
  delete args.token;
  return { ok: true, args, ...(bodyToken !== undefined ? { bodyToken } : {}) };
}

/** Webhooks take JSON, or a form with the JSON in `payload`, as Slack's do. */
function parseWebhookPayload(body: string, contentType: string | undefined): Args | undefined {
  const text = contentType?.includes('application/x-www-form-urlencoded')
    ? (new URLSearchParams(body).get('payload') ?? '')
    : body;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Args)
      : undefined;
  } catch {
    return undefined;
  }
}

function bearer(authorization: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
}

function missing(field: string): ApiAnswer {
  return {
    ok: false,
    error: 'invalid_arguments',
    response_metadata: { messages: [`[ERROR] missing required field: ${field}`] },
  };
}

function refusal(problem: MessageProblem): ApiAnswer {
  return {
    ok: false,
    error: problem.error,
    errors: problem.errors,
    response_metadata: { messages: problem.errors.map((e) => `[ERROR] ${e}`) },
  };
}

/** The message fields a request sets; form posts carry blocks and attachments as JSON text. */
function content(args: Args): Pick<SlackMessage, 'text' | 'blocks' | 'attachments'> {
  const list = (value: unknown): unknown[] | undefined => {
    const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
    return Array.isArray(parsed) ? parsed : undefined;
  };
  const blocks = list(args.blocks);
  const attachments = list(args.attachments);
  return {
    ...(typeof args.text === 'string' ? { text: args.text } : {}),
    ...(blocks ? { blocks } : {}),
    ...(attachments ? { attachments } : {}),
  };
}

function stateOf(message: SlackMessage): Pick<SlackMessage, 'text' | 'blocks' | 'attachments'> {
  return { text: message.text, blocks: message.blocks, attachments: message.attachments };
}

/** Message metadata from a post: an object, or its JSON text in a form post. */
function metadataOf(args: Args): Pick<SlackMessage, 'metadata'> {
  let value: unknown = args.metadata;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  if (typeof value !== 'object' || value === null) return {};
  const { event_type: type, event_payload: payload } = value as Record<string, unknown>;
  if (typeof type !== 'string' || typeof payload !== 'object' || payload === null) return {};
  return { metadata: { event_type: type, event_payload: payload as Record<string, unknown> } };
}

/** Slack's booleans in arguments: true, 1 or "true"/"1" (form and query values are text). */
function flag(value: unknown): boolean {
  return value === true || value === 1 || value === 'true' || value === '1';
}

/** `oldest`/`latest` (exclusive unless `inclusive`) as a filter on message ts. */
function timeWindow(args: Args): { within: (m: SlackMessage) => boolean } | ApiAnswer {
  const bound = (value: unknown): string | undefined | false => {
    if (value === undefined || value === '') return undefined;
    const text = typeof value === 'string' || typeof value === 'number' ? String(value) : '';
    return /^\d+(\.\d+)?$/.test(text) ? text : false;
  };
  const oldest = bound(args.oldest);
  const latest = bound(args.latest);
  if (oldest === false) return { ok: false, error: 'invalid_ts_oldest' };
  if (latest === false) return { ok: false, error: 'invalid_ts_latest' };
  const inclusive = flag(args.inclusive);
  const after = (ts: string, than: string): boolean =>
    inclusive ? compareTs(ts, than) >= 0 : compareTs(ts, than) > 0;
  return {
    within: (m) =>
      (oldest === undefined || after(m.ts, oldest)) && (latest === undefined || after(latest, m.ts)),
  };
}

/** A page of `limit` items (default 100, at most 999) from `cursor`, with Slack's cursor fields. */
function page(
  items: SlackMessage[],
  args: Args,
  render: (m: SlackMessage) => Record<string, unknown>,
): Record<string, unknown> {
  const limit = Math.min(999, Math.max(1, Number(args.limit) || 100));
  const start =
    typeof args.cursor === 'string' && args.cursor !== ''
      ? Number(
          Buffer.from(args.cursor, 'base64')
            .toString('utf8')
            .replace(/^offset:/, ''),
        ) || 0
      : 0;
  const slice = items.slice(start, start + limit);
  const hasMore = start + limit < items.length;
  return {
    messages: slice.map(render),
    has_more: hasMore,
    pin_count: 0,
    ...(hasMore
      ? { response_metadata: { next_cursor: Buffer.from(`offset:${start + limit}`).toString('base64') } }
      : {}),
  };
}

/** A message as the Web API returns it; metadata only when asked for (include_all_metadata). */
function asSlackReturnsIt(message: SlackMessage, withMetadata = false): Record<string, unknown> {
  return {
    type: 'message',
    subtype: 'bot_message',
    text: message.text ?? '',
    user: BOT.user,
    bot_id: BOT.botId,
    app_id: BOT.appId,
    team: TEAM_ID,
    ts: message.ts,
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.attachments ? { attachments: message.attachments } : {}),
    ...(withMetadata && message.metadata ? { metadata: message.metadata } : {}),
  };
}

/** Slack timestamps: `<seconds>.<microseconds>`, unique and increasing within this stand-in. */
function tsClock(): () => string {
  let last = 0;
  return () => {
    last = Math.max(Date.now() * 1000, last + 1);
    return `${Math.floor(last / 1_000_000)}.${String(last % 1_000_000).padStart(6, '0')}`;
  };
}

function compareTs(a: string, b: string): number {
  const [as = '', af = ''] = a.split('.');
  const [bs = '', bf = ''] = b.split('.');
  return Number(as) - Number(bs) || Number(af) - Number(bf);
}

function digits(count: number): string {
  return Array.from(randomBytes(count), (byte) => String(byte % 10)).join('');
}
