/**
 * notify-email's inputs: the spec (core's input kinds), the checks across inputs, and the step
 * from core's settings to EmailSettings. Validation, the deploy config (`environment` with
 * `config`) and error wording are core's resolveSettings; everything here is local work (a file
 * read for `report`, YAML parsing) and runs before any connection is opened.
 */
import { deployInputs, resolveSettings } from '@cd-actions/core/config/config';
import { ADDRESS_ACCEPTED, parseAddress, type MailAddress } from '@cd-actions/core/email/address';
import { DEFAULT_PORTS, SMTP_SECURITY, type EmailSettings } from '@cd-actions/core/email/settings';
import {
  input,
  readInput,
  type InputReader,
  type InputSpec,
  type Rule,
  type Settings,
} from '@cd-actions/core/inputs/inputs';
import { deployStatusInput, fieldPairs, fieldsInput, reportInput } from '@cd-actions/core/inputs/notice';
import { setSecret } from '@cd-actions/core/runner/io';

const ADDRESSES_ACCEPTED = 'e-mail addresses such as ops@example.com or "Ops Team <ops@example.com>"';
/** A host name (RFC 1123 labels), an IPv4 address, or an IPv6 address in brackets. */
const HOST =
  /^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;
/** Where a clear-text connection may go: this machine only (a local relay, a test server). */
const LOOPBACK = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

function address(): InputSpec<MailAddress, true> {
  const spec = input.string({ required: true, config: false, patternDescription: ADDRESS_ACCEPTED });
  return {
    ...spec,
    parse: (raw) => {
      const parsed = parseAddress(raw);
      return parsed ? { ok: true, value: parsed } : { ok: false };
    },
  };
}

function addresses<R extends boolean>(required: R): InputSpec<MailAddress[], R> {
  const spec = input.list({
    required,
    config: false,
    itemDescription: ADDRESSES_ACCEPTED,
    item: (item) => (parseAddress(item) ? undefined : ADDRESSES_ACCEPTED),
  });
  return {
    ...spec,
    parse: (raw, context) => {
      const parsed = spec.parse(raw, context);
      if (!parsed.ok) return parsed;
      return { ok: true, value: parsed.value.map((item) => parseAddress(item)!) };
    },
  } as InputSpec<MailAddress[], R>;
}

/**
 * The inputs by their action.yml names. `config` says which key of the deploy config's
 * environment entry supplies an input; `false` keeps a same-named key (the entry's `timeout` is
 * the deploy's, not the mail server's) from leaking in.
 */
function notifyEmailSpec() {
  return {
    server: input.string({
      required: true,
      config: false,
      pattern: HOST,
      patternDescription: 'a mail server host name such as smtp.example.com, or an IP address',
    }),
    port: input.integer({ min: 1, max: 65535, config: false }),
    security: input.enum(SMTP_SECURITY, { default: 'starttls', config: false }),
    username: input.string({ config: false }),
    password: input.secret({ config: false }),
    from: address(),
    to: addresses(true),
    cc: addresses(false),
    bcc: addresses(false),
    subject: input.string({
      config: false,
      pattern: /^[^\r\n]{1,250}$/,
      patternDescription: 'one line of at most 250 characters',
    }),
    status: deployStatusInput(),
    environment: deployInputs.environment,
    app: input.string({ config: 'app' }),
    version: input.string({ config: false }),
    strategy: input.string({ config: 'strategy' }),
    text: input.string({ config: false }),
    fields: fieldsInput(),
    report: reportInput(),
    config: deployInputs.config,
    'fail-on-error': input.boolean({ default: false, config: false }),
    timeout: input.duration({ default: '30s', min: '1s', max: '10m', config: false }),
  } as const;
}

/** The spec the runner's inputs are read with (and action.yml is checked against). */
export const spec = notifyEmailSpec();

type EmailSpec = typeof spec;

function rules(): Rule<EmailSpec>[] {
  return [
    (s) => {
      if ((s.username === undefined) === (s.password === undefined)) return undefined;
      const missing = s.username === undefined ? 'username' : 'password';
      const given = missing === 'username' ? 'password' : 'username';
      return {
        input: missing,
        accepted: 'both "username" and "password", or neither',
        message: `Input "${missing}" is required with "${given}": expected both "username" and "password" (a server that needs a login), or neither`,
      };
    },
    (s) =>
      s.security === 'none' && !LOOPBACK.test(s.server)
        ? {
            input: 'security',
            accepted: `starttls or tls for ${s.server}`,
            message: `Input "security" has value "none" with server "${s.server}": clear text is allowed only to this machine (localhost, 127.0.0.1, [::1]); expected starttls or tls for ${s.server}`,
          }
        : undefined,
  ];
}

/**
 * AUTH LOGIN and AUTH PLAIN put the password on the wire base64-encoded: those forms are masked
 * too (the password itself was masked as it was read), in case a transcript ever reaches a log.
 */
function maskPasswordForms(user: string, password: string): void {
  setSecret(Buffer.from(password).toString('base64'));
  setSecret(Buffer.from(`\0${user}\0${password}`).toString('base64'));
}

function toEmailSettings(s: Settings<EmailSpec>): EmailSettings {
  if (s.username !== undefined && s.password !== undefined) maskPasswordForms(s.username, s.password);
  const settings: EmailSettings = {
    server: {
      host: s.server.replace(/^\[(.*)\]$/, '$1'),
      port: s.port ?? DEFAULT_PORTS[s.security],
      security: s.security,
      ...(s.username !== undefined && s.password !== undefined
        ? { auth: { user: s.username, pass: s.password } }
        : {}),
    },
    from: s.from,
    to: [...s.to],
    cc: [...(s.cc ?? [])],
    bcc: [...(s.bcc ?? [])],
    status: s.status,
    fields: fieldPairs(s.fields),
    failOnError: s.failOnError,
    timeoutMs: s.timeout,
  };
  // Absent rather than undefined, so a settings object prints and compares as it reads.
  if (s.subject !== undefined) settings.subject = s.subject;
  if (s.app !== undefined) settings.app = s.app;
  if (s.environment !== undefined) settings.environment = s.environment;
  if (s.version !== undefined) settings.version = s.version;
  if (s.strategy !== undefined) settings.strategy = s.strategy;
  if (s.text !== undefined) settings.text = s.text;
  if (s.report !== undefined) settings.report = s.report;
  return Object.freeze(settings);
}

export interface ReadOptions {
  /** Reads one raw input; the runner's INPUT_<NAME> unless a test injects another. */
  readonly read?: InputReader;
  /** GITHUB_WORKSPACE (config and report paths); process.env by default. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Reads and validates every input, with the deploy config's entry for `environment` as defaults;
 * returns the settings or throws one InputError listing every problem (the password shown as ***).
 */
export function readNotifyEmailSettings(options: ReadOptions = {}): EmailSettings {
  const env = options.env ?? process.env;
  const settings = resolveSettings(spec, {
    read: options.read ?? readInput,
    rules: rules(),
    workspace: env.GITHUB_WORKSPACE || process.cwd(),
  });
  return toEmailSettings(settings);
}
