/**
 * The GitHub REST operations the stand-in serves, with their request schemas from GitHub's
 * published OpenAPI description (extracted into github-operations.json by
 * scripts/extract-github-schemas.ts), compiled with ajv once per process on first use.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

export interface OperationParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: unknown;
}

export interface Operation {
  operationId: string;
  method: string;
  path: string;
  documentationUrl: string;
  parameters: OperationParameter[];
  requestBody: unknown;
  responses: Record<string, unknown>;
}

export interface CompiledOperation extends Operation {
  /** Path parameters when `pathname` is this operation's path, else undefined. */
  matchPath(pathname: string): Record<string, string> | undefined;
  /** Path and query parameters, coerced to their schema types (for example deployment_id to a number). */
  validateParams: ValidateFunction;
  /** The request body; null when the operation takes none. */
  validateBody: ValidateFunction | null;
}

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/** OpenAPI 3.0 schemas carry `nullable` and vendor keywords that strict JSON Schema mode refuses. */
export function createAjv(options: { coerceTypes?: boolean } = {}): Ajv {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    verbose: true,
    coerceTypes: options.coerceTypes ?? false,
  });
  // The only formats GitHub's schemas for these operations use (ajv-formats is not a dependency of ours).
  ajv.addFormat('uri', (value: string) => URL.canParse(value));
  ajv.addFormat(
    'date-time',
    (value: string) => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)),
  );
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isSafeInteger(value) });
  return ajv;
}

let loaded: Operation[] | undefined;
let compiled: CompiledOperation[] | undefined;

export function loadOperations(): Operation[] {
  loaded ??= (
    JSON.parse(readFileSync(new URL('./github-operations.json', import.meta.url), 'utf8')) as {
      operations: Operation[];
    }
  ).operations;
  return loaded;
}

export function compiledOperations(): CompiledOperation[] {
  if (compiled) return compiled;
  const bodies = createAjv();
  const params = createAjv({ coerceTypes: true });
  compiled = loadOperations().map((operation) => {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        names.push(name);
        return '([^/]+)';
      })}$`,
    );
    const paramsSchema = {
      type: 'object',
      properties: Object.fromEntries(operation.parameters.map((p) => [p.name, p.schema])),
      required: operation.parameters.filter((p) => p.required).map((p) => p.name),
    };
    return {
      ...operation,
      matchPath: (pathname: string) => {
        const match = pattern.exec(pathname);
        if (!match) return undefined;
        return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(match[i + 1] ?? '')]));
      },
      validateParams: params.compile(paramsSchema),
      validateBody: operation.requestBody ? bodies.compile(operation.requestBody) : null,
    };
  });
  return compiled;
}

export interface FieldError {
  resource: string;
  field: string;
  code: 'missing_field' | 'invalid';
  message: string;
}

/** ajv's findings worded the way GitHub words an invalid request. */
export function describeSchemaErrors(resource: string, errors: ErrorObject[]): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors) {
    // oneOf reports each failed branch and then itself; the summary is enough.
    if (
      error.keyword !== 'oneOf' &&
      errors.some((e) => e.keyword === 'oneOf' && error.instancePath === e.instancePath)
    )
      continue;
    const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
    let described: FieldError;
    if (error.keyword === 'required') {
      const missing = String((error.params as { missingProperty: string }).missingProperty);
      described = {
        resource,
        field: field ? `${field}.${missing}` : missing,
        code: 'missing_field',
        message: `"${missing}" wasn't supplied.`,
      };
    } else if (error.keyword === 'enum') {
      const allowed = (error.params as { allowedValues: unknown[] }).allowedValues.map((v) =>
        JSON.stringify(v),
      );
      described = {
        resource,
        field,
        code: 'invalid',
        message: `For 'properties/${field}', ${JSON.stringify(error.data)} is not a member of [${allowed.join(', ')}].`,
      };
    } else if (error.keyword === 'type') {
      const type = String((error.params as { type: string }).type);
      described = {
        resource,
        field,
        code: 'invalid',
        message: `For 'properties/${field}', ${JSON.stringify(error.data)} is not ${article(type)} ${type}.`,
      };
    } else {
      described = {
        resource,
        field,
        code: 'invalid',
        message: `For 'properties/${field}', ${JSON.stringify(error.data)} ${error.message ?? 'is invalid'}.`,
      };
    }
    const key = `${described.field}|${described.message}`;
    if (!seen.has(key)) out.push(described);
    seen.add(key);
  }
  return out;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
