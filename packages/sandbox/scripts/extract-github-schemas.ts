/**
 * Extracts, from GitHub's published OpenAPI description (@octokit/openapi, ~70 MB), the
 * operations the GitHub stand-in serves: parameters, request body schema and success response
 * schemas, without descriptions and examples. The stand-in loads the small result at start;
 * parsing the whole description takes seconds.
 *
 *   npx tsx packages/sandbox/scripts/extract-github-schemas.ts   # rewrites the committed file
 *
 * A test checks the committed file still equals what this extracts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import prettier from 'prettier';

export const SERVED_OPERATIONS = [
  'repos/get',
  'rate-limit/get',
  'repos/list-deployments',
  'repos/create-deployment',
  'repos/get-deployment',
  'repos/list-deployment-statuses',
  'repos/create-deployment-status',
] as const;

export const OUTPUT_FILE = fileURLToPath(new URL('../src/standins/github-operations.json', import.meta.url));

export interface ExtractedParameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  schema: unknown;
}

export interface ExtractedOperation {
  operationId: string;
  method: string;
  /** OpenAPI path template, e.g. /repos/{owner}/{repo}/deployments */
  path: string;
  documentationUrl: string;
  parameters: ExtractedParameter[];
  requestBody: unknown;
  /** Success status -> JSON schema of the answer. */
  responses: Record<string, unknown>;
}

export interface ExtractedOperations {
  source: string;
  operations: ExtractedOperation[];
}

interface OpenApiOperation {
  operationId: string;
  externalDocs?: { url?: string };
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: unknown }>;
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

/** Schema keywords that only document; `properties` maps are walked by name, never stripped. */
const ANNOTATIONS = new Set(['description', 'example', 'examples', 'externalDocs', 'title', 'summary']);

function stripAnnotations(schema: unknown, insideProperties = false): unknown {
  if (Array.isArray(schema)) return schema.map((item) => stripAnnotations(item));
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!insideProperties && (ANNOTATIONS.has(key) || key.startsWith('x-'))) continue;
    out[key] = stripAnnotations(value, !insideProperties && key === 'properties');
  }
  return out;
}

export function extractOperations(description: {
  info: { version: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
}): ExtractedOperations {
  const operations: ExtractedOperation[] = [];
  for (const [path, item] of Object.entries(description.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!(SERVED_OPERATIONS as readonly string[]).includes(operation.operationId)) continue;
      const responses: Record<string, unknown> = {};
      for (const [status, response] of Object.entries(operation.responses)) {
        const schema = response.content?.['application/json']?.schema;
        if (status.startsWith('2') && schema) responses[status] = stripAnnotations(schema);
      }
      operations.push({
        operationId: operation.operationId,
        method: method.toUpperCase(),
        path,
        documentationUrl: operation.externalDocs?.url ?? 'https://docs.github.com/rest',
        parameters: (operation.parameters ?? [])
          .filter((p) => p.in === 'path' || p.in === 'query')
          .map((p) => ({
            name: p.name,
            in: p.in as 'path' | 'query',
            required: p.required ?? false,
            schema: stripAnnotations(p.schema),
          })),
        requestBody: stripAnnotations(operation.requestBody?.content?.['application/json']?.schema ?? null),
        responses,
      });
    }
  }
  operations.sort(
    (a, b) =>
      SERVED_OPERATIONS.indexOf(a.operationId as never) - SERVED_OPERATIONS.indexOf(b.operationId as never),
  );
  const missing = SERVED_OPERATIONS.filter((id) => !operations.some((o) => o.operationId === id));
  if (missing.length > 0)
    throw new Error(`operations missing from the OpenAPI description: ${missing.join(', ')}`);
  return { source: `@octokit/openapi api.github.com ${description.info.version}`, operations };
}

export async function extractFromInstalledPackage(): Promise<ExtractedOperations> {
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.deref.json');
  return extractOperations(JSON.parse(await readFile(file, 'utf8')));
}

/** The file as committed: formatted by the repository's prettier settings so `prettier --check` passes. */
export async function renderOperations(extracted: ExtractedOperations): Promise<string> {
  const options = (await prettier.resolveConfig(OUTPUT_FILE)) ?? {};
  return prettier.format(JSON.stringify(extracted), { ...options, parser: 'json' });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const extracted = await extractFromInstalledPackage();
  await writeFile(OUTPUT_FILE, await renderOperations(extracted));
  console.log(`wrote ${extracted.operations.length} operations to ${OUTPUT_FILE}`);
}
