import { parseDocument } from 'yaml';
import { DURATION_EXAMPLES, durationLiteral, formatDuration, parseDuration } from './duration.js';
import {
  pathRoots,
  resolveInWorkspace,
  resolvePatternInWorkspace,
  type PathRoots,
} from './workspace-path.js';
import { toPlain, yamlErrorText } from './yaml-errors.js';

export { yamlErrorText, yamlErrorWhat } from './yaml-errors.js';

export type InputKind =
  'string' | 'secret' | 'integer' | 'boolean' | 'duration' | 'enum' | 'list' | 'document' | 'url' | 'path';

/** What a parse may depend on besides the text: where input paths may lead. */
export interface ParseContext {
  readonly roots: PathRoots;
}

/** The outcome of parsing one raw input. On failure `accepted` overrides the spec's own text. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason?: string; readonly accepted?: string };

/**
 * One input of an action. `T` is the parsed value; `Always` says whether the setting always has
 * a value (required, or has a default), which decides between `T` and `T | undefined`.
 */
export interface InputSpec<T = unknown, Always extends boolean = boolean> {
  readonly kind: InputKind;
  /** What the input accepts, worded to follow "expected": `an integer from 1 to 10`. */
  readonly accepted: string;
  readonly required: boolean;
  /** The default in input form, parsed like a given value so a default can never skip validation. */
  readonly default: string | undefined;
  readonly secret: boolean;
  /**
   * Where the deploy config's environment entry supplies this input: a dotted key such as
   * `gate.duration`, `false` for never, or undefined for the key of the same name.
   */
  readonly config: string | false | undefined;
  /** Without a context, paths resolve against GITHUB_WORKSPACE (else the current directory). */
  readonly parse: (raw: string, context?: ParseContext) => Parsed<T>;
  /** Type-level marker only, never set. */
  readonly __always?: Always;
}

export interface ValidateFailure {
  readonly reason: string;
  readonly accepted?: string;
}

interface CommonOptions<T> {
  readonly required?: boolean;
  /** Masked with core.setSecret as soon as read, and shown as *** in every error. */
  readonly secret?: boolean;
  readonly config?: string | false;
  /**
   * A further check of the parsed value: returns the accepted-form text when it fails, or a reason
   * (shown before "expected") with or without its own accepted form.
   */
  readonly validate?: (value: T) => string | ValidateFailure | undefined;
}

type DefaultValue = string | number | boolean | readonly string[];
type Always<O> = O extends { readonly required: true }
  ? true
  : O extends { readonly default: DefaultValue }
    ? true
    : false;

function build<T, A extends boolean>(
  kind: InputKind,
  accepted: string,
  options: CommonOptions<T> & { readonly default?: DefaultValue },
  parse: (raw: string, context: ParseContext) => Parsed<T>,
): InputSpec<T, A> {
  const validate = options.validate;
  const fallback = options.default;
  return Object.freeze({
    kind,
    accepted,
    required: options.required ?? false,
    default:
      fallback === undefined ? undefined : typeof fallback === 'object' ? fallback.join('\n') : `${fallback}`,
    secret: options.secret ?? kind === 'secret',
    config: options.config,
    parse: (raw: string, context?: ParseContext): Parsed<T> => {
      const parsed = parse(raw, context ?? { roots: pathRoots() });
      if (!parsed.ok || !validate) return parsed;
      const failed = validate(parsed.value);
      if (failed === undefined) return parsed;
      return typeof failed === 'string' ? { ok: false, accepted: failed } : { ok: false, ...failed };
    },
  });
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = (reason?: string): Parsed<never> =>
  reason === undefined ? { ok: false } : { ok: false, reason };

export interface StringOptions extends CommonOptions<string> {
  readonly default?: string;
  readonly pattern?: RegExp;
  /** The pattern in words, shown as the accepted form: `a Kubernetes name (lowercase, digits, -)`. */
  readonly patternDescription?: string;
}

function textSpec<A extends boolean>(
  kind: 'string' | 'secret',
  options: StringOptions,
): InputSpec<string, A> {
  const { pattern, patternDescription } = options;
  const accepted =
    patternDescription ??
    (pattern ? `text matching ${String(pattern)}` : kind === 'secret' ? 'a secret' : 'text');
  return build(kind, accepted, options, (raw) => (pattern && !pattern.test(raw) ? fail() : ok(raw)));
}

export function string<const O extends StringOptions>(options?: O): InputSpec<string, Always<O>> {
  return textSpec('string', options ?? {});
}

export function secret<const O extends Omit<StringOptions, 'secret'>>(
  options?: O,
): InputSpec<string, Always<O>> {
  return textSpec('secret', { ...options, secret: true });
}

export interface IntegerOptions extends CommonOptions<number> {
  readonly default?: number | string;
  readonly min?: number;
  readonly max?: number;
}

function rangeText(min: string | undefined, max: string | undefined): string {
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  if (max !== undefined) return `at most ${max}`;
  return '';
}

export function integer<const O extends IntegerOptions>(options?: O): InputSpec<number, Always<O>> {
  const { min, max } = options ?? {};
  const range = rangeText(min?.toString(), max?.toString());
  const accepted = `an integer${range.startsWith('from') ? ` ${range}` : range ? ` of ${range}` : ''}`;
  return build('integer', accepted, options ?? {}, (raw) => {
    if (!/^[+-]?\d+$/.test(raw)) return fail();
    const value = Number(raw);
    if (!Number.isSafeInteger(value)) return fail('the number is too large');
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) return fail();
    return ok(value);
  });
}

export interface BooleanOptions extends CommonOptions<boolean> {
  readonly default?: boolean | string;
}

// The YAML 1.2 core schema's booleans, as core.getBooleanInput accepts them: `yes`, `on` and `1`
// are refused rather than guessed at.
const TRUE = new Set(['true', 'True', 'TRUE']);
const FALSE = new Set(['false', 'False', 'FALSE']);

export function boolean<const O extends BooleanOptions>(options?: O): InputSpec<boolean, Always<O>> {
  return build('boolean', 'true or false', options ?? {}, (raw) =>
    TRUE.has(raw) ? ok(true) : FALSE.has(raw) ? ok(false) : fail(),
  );
}

export interface DurationOptions extends CommonOptions<number> {
  readonly default?: string;
  /** Bounds as duration text, e.g. `1s` and `1h`. */
  readonly min?: string;
  readonly max?: string;
  /** Whether `0s` is a valid value (e.g. an initial delay); negative durations never are. */
  readonly allowZero?: boolean;
}

export function duration<const O extends DurationOptions>(options?: O): InputSpec<number, Always<O>> {
  const { allowZero = false } = options ?? {};
  const min = options?.min === undefined ? undefined : durationLiteral(options.min);
  const max = options?.max === undefined ? undefined : durationLiteral(options.max);
  const examples = allowZero ? `0s, ${DURATION_EXAMPLES}` : DURATION_EXAMPLES;
  const range = rangeText(
    min === undefined ? undefined : formatDuration(min),
    max === undefined ? undefined : formatDuration(max),
  );
  const accepted = `a duration such as ${examples}${range ? `, ${range}` : ''}`;
  return build('duration', accepted, options ?? {}, (raw) => {
    const parsed = parseDuration(raw);
    if (!parsed.ok) return fail(parsed.reason);
    if (parsed.ms === 0 && !allowZero) return fail('a zero duration is not allowed');
    if ((min !== undefined && parsed.ms < min) || (max !== undefined && parsed.ms > max)) return fail();
    return ok(parsed.ms);
  });
}

export interface EnumOptions<V extends string> extends CommonOptions<V> {
  readonly default?: V;
}

export function oneOf<const V extends string, const O extends EnumOptions<NoInfer<V>>>(
  values: readonly V[],
  options?: O,
): InputSpec<V, Always<O>> {
  const allowed = new Set<string>(values);
  return build('enum', `one of ${values.join(', ')}`, options ?? {}, (raw) =>
    allowed.has(raw) ? ok(raw as V) : fail(),
  );
}

/** A long value shortened for a message: the start says which one it is. */
function clip(text: string): string {
  return text.length > 120 ? `${text.slice(0, 100)}…` : text;
}

export interface ListOptions extends CommonOptions<readonly string[]> {
  readonly default?: string | readonly string[];
  /** Also split on commas (the default); turn off when items may contain commas. */
  readonly commas?: boolean;
  /** Describes one item for the accepted form: `container=image`. */
  readonly itemDescription?: string;
  /** Checks one item; returns the accepted-form text of an item when it fails. */
  readonly item?: (item: string) => string | undefined;
}

export function list<const O extends ListOptions>(options?: O): InputSpec<readonly string[], Always<O>> {
  const { commas = true, itemDescription, item, secret: isSecret = false } = options ?? {};
  const separators = commas ? 'commas or newlines' : 'newlines';
  const acceptedFor = (itemText: string | undefined): string =>
    `a list separated by ${separators}${itemText ? ` of ${itemText}` : ''}`;
  return build('list', acceptedFor(itemDescription), options ?? {}, (raw) => {
    const items = raw
      .split(commas ? /[\n,]/ : /\n/)
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    for (const entry of items) {
      const failed = item?.(entry);
      if (failed !== undefined) {
        // A secret's items are never echoed, not even one of them.
        const which = isSecret ? 'an item' : `item ${JSON.stringify(clip(entry))}`;
        return { ok: false, reason: `${which} is not valid`, accepted: acceptedFor(failed) };
      }
    }
    return ok(Object.freeze(items));
  });
}

export interface DocumentOptions extends CommonOptions<unknown> {
  readonly default?: string;
  /** The top-level shape the document must have. */
  readonly shape?: 'mapping' | 'list';
  /** Overrides the accepted-form text, e.g. `a YAML list of checks`. */
  readonly description?: string;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export function document<const O extends DocumentOptions>(options?: O): InputSpec<unknown, Always<O>> {
  const { shape, description } = options ?? {};
  const accepted = description ?? `a YAML or JSON ${shape ?? 'document'}`;
  return build('document', accepted, options ?? {}, (raw) => {
    const doc = parseDocument(raw);
    const [error] = doc.errors;
    if (error) return fail(yamlErrorText(error));
    const plain = toPlain(doc);
    if (!plain.ok) return fail(plain.reason);
    const value = plain.value;
    if (shape === 'list' && !Array.isArray(value)) return fail('the document is not a list');
    if (shape === 'mapping' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      return fail('the document is not a mapping');
    }
    return ok(deepFreeze(value));
  });
}

export interface UrlOptions extends CommonOptions<string> {
  readonly default?: string;
  /** Allowed schemes without the colon; http and https unless set. */
  readonly protocols?: readonly string[];
}

export function url<const O extends UrlOptions>(options?: O): InputSpec<string, Always<O>> {
  const protocols = options?.protocols ?? ['http', 'https'];
  const names =
    protocols.length > 1 ? `${protocols.slice(0, -1).join(', ')} or ${protocols.at(-1)}` : protocols[0];
  const accepted = `an ${names} URL such as ${protocols.at(-1)}://example.com`;
  return build('url', accepted, options ?? {}, (raw) => {
    if (!URL.canParse(raw)) return fail();
    const parsed = new URL(raw);
    if (!protocols.includes(parsed.protocol.slice(0, -1)))
      return fail(`the scheme ${parsed.protocol} is not allowed`);
    if (parsed.hostname === '') return fail('the URL has no host');
    return ok(raw);
  });
}

export interface PathOptions extends CommonOptions<string> {
  readonly default?: string;
  /** What the file is, for the accepted form: `a deploy config file`. */
  readonly what: string;
  /** A file the action writes: RUNNER_TEMP is allowed as well as the workspace. */
  readonly output?: boolean;
}

function placesText(output: boolean | undefined): string {
  return output
    ? 'relative to the workspace, and inside it or RUNNER_TEMP'
    : 'relative to the workspace and inside it';
}

/**
 * The path of one file, relative to the workspace (or absolute), that stays inside it (see
 * workspace-path.ts). The value is the absolute path, so no caller resolves it again.
 */
export function path<const O extends PathOptions>(options: O): InputSpec<string, Always<O>> {
  const accepted = `the path of ${options.what}, ${placesText(options.output)}`;
  return build('path', accepted, options, (raw, context) => {
    const checked = resolveInWorkspace(raw, context.roots, { output: options.output ?? false });
    return checked.ok ? ok(checked.path) : fail(checked.reason);
  });
}

export interface PathsOptions extends CommonOptions<readonly string[]> {
  readonly default?: string | readonly string[];
  /** What the files are, for the accepted form: `manifest files`. */
  readonly what: string;
}

/**
 * Files or globs, one per line or comma-separated, each inside the workspace. The value is the
 * items as given (globs stay globs); whoever expands a glob checks each file it finds as well.
 */
export function paths<const O extends PathsOptions>(options: O): InputSpec<readonly string[], Always<O>> {
  const accepted = `a list separated by commas or newlines of ${options.what} or globs, ${placesText(false)}`;
  return build('list', accepted, options, (raw, context) => {
    const items = raw
      .split(/[\n,]/)
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    for (const entry of items) {
      const checked = resolvePatternInWorkspace(entry, context.roots);
      if (!checked.ok) return fail(`item ${JSON.stringify(clip(entry))}: ${checked.reason}`);
    }
    return ok(Object.freeze(items));
  });
}
