/**
 * Typed action inputs: one declarative spec per action, one getSettings() call that reads and
 * validates every input and either returns a frozen settings object or throws one InputError
 * listing every problem. This module loads first in every action, so it imports only
 * the runner protocol (runner-io), yaml and the workspace path rule (node:fs, node:path);
 * anything heavier belongs after validation.
 */
import * as core from '../runner/io.js';
import { InputError, type InputProblem } from './errors.js';
import { redactUrl } from '../net/redact.js';
import * as kinds from './kinds.js';
import type { InputSpec, ParseContext, Parsed } from './kinds.js';
import { pathRoots } from './workspace-path.js';

export { InputError, type InputProblem } from './errors.js';
export type { InputKind, InputSpec, ParseContext } from './kinds.js';
export { formatDuration, parseDuration } from './duration.js';

/** The spec builders: `input.duration({ default: '10m', max: '1h' })`. */
export const input = {
  string: kinds.string,
  secret: kinds.secret,
  integer: kinds.integer,
  boolean: kinds.boolean,
  duration: kinds.duration,
  enum: kinds.oneOf,
  list: kinds.list,
  document: kinds.document,
  url: kinds.url,
  path: kinds.path,
  paths: kinds.paths,
} as const;

/** An action's inputs by their kebab-case names in action.yml. */
export type InputSpecMap = Readonly<Record<string, InputSpec>>;

export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

export type SettingValue<I> =
  I extends InputSpec<infer T, infer Always> ? ([Always] extends [true] ? T : T | undefined) : never;

export type Settings<S extends InputSpecMap> = {
  readonly [K in keyof S & string as CamelCase<K>]: SettingValue<S[K]>;
};

export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/gi, (_, letter: string) => letter.toUpperCase());
}

/** A problem found by a rule that looks at several settings at once. */
export interface RuleProblem {
  /** The input to blame (kebab-case); its value is shown, redacted if secret. */
  readonly input: string;
  readonly accepted: string;
  /** Replaces the standard `Input "x" has value "v": expected <accepted>` line. */
  readonly message?: string;
}

/** Runs once every input is valid on its own, so it may compare parsed values. */
export type Rule<S extends InputSpecMap> = (settings: Settings<S>) => RuleProblem | undefined;

export type InputReader = (name: string) => string;

export interface GetSettingsOptions<S extends InputSpecMap> {
  /** Reads one raw input; INPUT_<NAME> as @actions/core reads it, unless a test injects another. */
  readonly read?: InputReader;
  readonly rules?: readonly Rule<S>[];
  /** Base of relative paths and the place files read must lie in; GITHUB_WORKSPACE, else the current directory. */
  readonly workspace?: string;
}

/** Where path inputs may lead, with a test's workspace in place of GITHUB_WORKSPACE. */
export function parseContext(workspace?: string): ParseContext {
  const roots = pathRoots();
  return { roots: workspace === undefined ? roots : { ...roots, workspace } };
}

/** Where a setting's value came from. */
export type InputSource =
  | { readonly from: 'input' }
  | { readonly from: 'config'; readonly file: string; readonly line: number; readonly key: string }
  | { readonly from: 'default' }
  | { readonly from: 'unset' };

/** A value the deploy config supplies for an input, in input form, with where it was written. */
export interface ConfigValue {
  readonly raw: string;
  readonly file: string;
  readonly line: number;
  /** The dotted key path in the file, e.g. `environments.staging.timeout`. */
  readonly key: string;
}

interface SettingsMeta {
  readonly sources: ReadonlyMap<string, InputSource>;
  readonly explicit: ReadonlySet<string>;
}

const metaBySettings = new WeakMap<object, SettingsMeta>();

export const readInput: InputReader = (name) => core.getInput(name);

/**
 * Reads the non-empty inputs among `names`. A secret is masked the moment it is read, before any
 * validation could echo it into the log.
 */
export function readExplicitInputs(
  spec: InputSpecMap,
  read: InputReader,
  extraNames: readonly string[] = [],
): Map<string, string> {
  const explicit = new Map<string, string>();
  for (const name of new Set([...Object.keys(spec), ...extraNames])) {
    const raw = read(name).trim();
    if (raw === '') continue;
    if (spec[name]?.secret) core.setSecret(raw);
    explicit.set(name, raw);
  }
  return explicit;
}

/** A value as errors show it: a secret as ***, a URL without its credentials. */
function displayed(raw: string, spec: InputSpec | undefined): string {
  if (spec?.secret) return '***';
  return spec?.kind === 'url' ? redactUrl(raw) : raw;
}

function shown(raw: string, spec: InputSpec | undefined): string {
  if (spec?.secret) return '"***"';
  const text = displayed(raw, spec);
  const short = text.length > 120 ? `${text.slice(0, 100)}…` : text;
  // JSON quoting keeps a multi-line value on the message's one line.
  return JSON.stringify(short);
}

function whereFrom(source: InputSource): string {
  return source.from === 'config' ? ` (from ${source.file}:${source.line}, ${source.key})` : '';
}

function parseProblem(
  name: string,
  spec: InputSpec,
  raw: string,
  source: InputSource,
  failure: Extract<Parsed<unknown>, { ok: false }>,
): InputProblem {
  const accepted = failure.accepted ?? spec.accepted;
  const reason = failure.reason === undefined ? '' : `${failure.reason}; `;
  const valueWord = source.from === 'default' ? 'default value' : 'value';
  return {
    input: name,
    value: displayed(raw, spec),
    accepted,
    message: `Input "${name}" has ${valueWord} ${shown(raw, spec)}${whereFrom(source)}: ${reason}expected ${accepted}`,
    ...(source.from === 'config' ? { file: source.file, line: source.line } : {}),
  };
}

export interface SettleOptions<S extends InputSpecMap> {
  readonly rules?: readonly Rule<S>[];
  /** Values from the deploy config's environment entry; explicit inputs win over them. */
  readonly configValues?: ReadonlyMap<string, ConfigValue>;
  /** Problems found before parsing (a broken config file), reported in the same error. */
  readonly problems?: readonly InputProblem[];
  /** Inputs whose absence is not reported, because a config file that failed to load may hold them. */
  readonly excuseMissing?: ReadonlySet<string>;
  /** Base of relative paths; GITHUB_WORKSPACE, else the current directory. */
  readonly workspace?: string;
}

/**
 * The one validation path: explicit inputs < config values < defaults, by precedence, each
 * parsed by its spec; then the cross-input rules. Shared by getSettings and resolveSettings.
 */
export function settleSettings<S extends InputSpecMap>(
  spec: S,
  explicit: ReadonlyMap<string, string>,
  options: SettleOptions<S> = {},
): Settings<S> {
  const problems: InputProblem[] = [...(options.problems ?? [])];
  // An input already reported (the config file it names failed to load) is not reported twice.
  const reported = new Set(problems.map((problem) => problem.input));
  const context = parseContext(options.workspace);
  const values: Record<string, unknown> = {};
  const sources = new Map<string, InputSource>();
  const rawByName = new Map<string, string>();

  for (const [name, inputSpec] of Object.entries(spec)) {
    const key = camelCase(name);
    const given = explicit.get(name);
    const fromConfig = options.configValues?.get(name);
    let raw: string;
    let source: InputSource;
    if (given !== undefined) {
      raw = given;
      source = { from: 'input' };
    } else if (fromConfig !== undefined) {
      raw = fromConfig.raw;
      source = { from: 'config', file: fromConfig.file, line: fromConfig.line, key: fromConfig.key };
      if (inputSpec.secret && raw !== '') core.setSecret(raw);
    } else if (inputSpec.default !== undefined) {
      raw = inputSpec.default;
      source = { from: 'default' };
    } else {
      values[key] = undefined;
      sources.set(name, { from: 'unset' });
      if (inputSpec.required && !options.excuseMissing?.has(name)) {
        problems.push({
          input: name,
          value: '',
          accepted: inputSpec.accepted,
          message: `Input "${name}" is required but was not given: expected ${inputSpec.accepted}`,
        });
      }
      continue;
    }
    sources.set(name, source);
    rawByName.set(name, raw);
    const parsed = inputSpec.parse(raw, context);
    if (parsed.ok) values[key] = parsed.value;
    else if (!reported.has(name)) problems.push(parseProblem(name, inputSpec, raw, source, parsed));
  }

  const settings = Object.freeze(values) as Settings<S>;
  if (problems.length === 0) {
    for (const rule of options.rules ?? []) {
      const found = rule(settings);
      if (!found) continue;
      const raw = rawByName.get(found.input) ?? '';
      problems.push({
        input: found.input,
        value: displayed(raw, spec[found.input]),
        accepted: found.accepted,
        message:
          found.message ??
          `Input "${found.input}" has value ${shown(raw, spec[found.input])}: expected ${found.accepted}`,
      });
    }
  }
  if (problems.length > 0) throw new InputError(problems);

  metaBySettings.set(settings, { sources, explicit: new Set(explicit.keys()) });
  return settings;
}

/**
 * Reads every input of `spec` as @actions/core would, validates all of them and returns the
 * frozen settings, keyed by the camelCase input names. Throws one InputError listing every
 * problem. Needs no network, so it runs before anything else does.
 */
export function getSettings<S extends InputSpecMap>(
  spec: S,
  options: GetSettingsOptions<S> = {},
): Settings<S> {
  const explicit = readExplicitInputs(spec, options.read ?? readInput);
  return settleSettings(spec, explicit, {
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.workspace === undefined ? {} : { workspace: options.workspace }),
  });
}

function metaOf(settings: object): SettingsMeta {
  const meta = metaBySettings.get(settings);
  if (!meta) throw new TypeError('not a settings object returned by getSettings or resolveSettings');
  return meta;
}

/** The inputs (kebab-case) the workflow step gave a non-empty value, whether or not in the spec. */
export function explicitInputs(settings: object): ReadonlySet<string> {
  return metaOf(settings).explicit;
}

/** Where each input's value came from, by kebab-case input name; handy for a "settings" log. */
export function inputSources(settings: object): ReadonlyMap<string, InputSource> {
  return metaOf(settings).sources;
}

function givenNames(settings: Readonly<Record<string, unknown>>, names: readonly string[]): string[] {
  return names.filter((name) => settings[camelCase(name)] !== undefined);
}

function quoted(names: readonly string[], conjunction: 'and' | 'or'): string {
  const parts = names.map((name) => `"${name}"`);
  return parts.length > 1
    ? `${parts.slice(0, -1).join(', ')} ${conjunction} ${parts.at(-1)}`
    : (parts[0] ?? '');
}

function bothOrAll(given: readonly string[]): string {
  return given.length === 2 ? 'were both given' : 'were all given';
}

/** A rule: exactly one of the inputs is set, e.g. `exactlyOneOf('webhook-url', 'token')`. */
export function exactlyOneOf(
  ...names: readonly string[]
): (settings: Readonly<Record<string, unknown>>) => RuleProblem | undefined {
  return (settings) => {
    const given = givenNames(settings, names);
    if (given.length === 1) return undefined;
    const accepted = `exactly one of ${quoted(names, 'and')}`;
    const first = given[0] ?? names[0] ?? '';
    const message =
      given.length === 0
        ? `Input ${quoted(names, 'or')} is required but none was given: expected ${accepted}`
        : `Input ${quoted(given, 'and')} ${bothOrAll(given)}: expected ${accepted}`;
    return { input: first, accepted, message };
  };
}

/** A rule: at most one of the inputs is set. */
export function atMostOneOf(
  ...names: readonly string[]
): (settings: Readonly<Record<string, unknown>>) => RuleProblem | undefined {
  return (settings) => {
    const given = givenNames(settings, names);
    if (given.length <= 1) return undefined;
    const accepted = `at most one of ${quoted(names, 'and')}`;
    return {
      input: given[0] ?? '',
      accepted,
      message: `Input ${quoted(given, 'and')} ${bothOrAll(given)}: expected ${accepted}`,
    };
  };
}
