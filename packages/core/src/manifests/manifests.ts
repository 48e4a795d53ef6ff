/**
 * Manifests from files and globs, parsed as multi-document YAML with line numbers, checked for
 * the structure every Kubernetes object needs, with image overrides applied. The API server's
 * dry-run apply checks them against the schema afterwards; this catches what needs no server.
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { LineCounter, parseAllDocuments } from 'yaml';
import { IMAGE_REF_FORM, parseImageRef } from '../inputs/image-ref.js';
import { resolveInWorkspace, resolvePatternInWorkspace } from '../inputs/workspace-path.js';
import { toPlain, yamlErrorWhat } from '../inputs/yaml-errors.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface Manifest {
  object: KubeObject;
  /** file:line of the document, for messages. */
  source: string;
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

const NAME_FORM = 'a DNS-1123 name: lower-case letters, digits and "-", at most 253 characters';
const DNS1123 = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

const INSIDE = 'give files or globs inside the workspace, relative to it';

/**
 * The files the patterns name, each inside the workspace `cwd`: the pattern is checked before
 * anything is listed, and every file a glob finds after (a `**` may follow a symbolic link out).
 * Problems name `input` and end with `hint` (what to give instead).
 */
export async function expandPatterns(
  patterns: readonly string[],
  cwd: string,
  input = 'manifests',
  hint = INSIDE,
): Promise<string[]> {
  const { glob } = await import('tinyglobby');
  const roots = { workspace: cwd };
  const files: string[] = [];
  const problems: string[] = [];
  for (const pattern of patterns) {
    const checked = resolvePatternInWorkspace(pattern, roots);
    if (!checked.ok) {
      problems.push(`Input "${input}" has item ${JSON.stringify(pattern)}: ${checked.reason}; ${hint}`);
      continue;
    }
    const matched = /[*?[{]/.test(pattern)
      ? await glob(pattern, { cwd, absolute: true, onlyFiles: true })
      : [checked.path];
    if (matched.length === 0) problems.push(`Input "${input}": "${pattern}" matches no file; ${hint}`);
    for (const file of matched.sort()) {
      const inside = resolveInWorkspace(file, roots);
      if (inside.ok) files.push(inside.path);
      else
        problems.push(
          `Input "${input}": "${pattern}" matches ${relative(cwd, file) || file}: ${inside.reason}; ${hint}`,
        );
    }
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return [...new Set(files)];
}

export async function loadManifests(patterns: string[], cwd: string): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  const problems: string[] = [];
  for (const file of await expandPatterns(patterns, cwd)) {
    const shown = relative(cwd, file) || file;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      problems.push(
        `Input "manifests": cannot read "${shown}" (${code === 'ENOENT' ? 'no such file' : String(code)}); ${INSIDE}`,
      );
      continue;
    }
    const lines = new LineCounter();
    for (const doc of parseAllDocuments(text, { lineCounter: lines, prettyErrors: false })) {
      const line = lines.linePos(doc.range[0]).line;
      const where = `${shown}:${line}`;
      if (doc.errors.length > 0) {
        const err = doc.errors[0]!;
        problems.push(
          `Input "manifests": ${shown}:${lines.linePos(err.pos[0]).line}: invalid YAML: ${yamlErrorWhat(err)}`,
        );
        continue;
      }
      const plain = toPlain(doc);
      if (!plain.ok) {
        problems.push(`Input "manifests": ${where}: invalid YAML: ${plain.reason}`);
        continue;
      }
      const value = plain.value;
      if (value === null || value === undefined) continue; // empty document between ---
      const problem = structureProblem(value);
      if (problem) problems.push(`Input "manifests": ${where}: ${problem}`);
      else manifests.push({ object: value as KubeObject, source: where });
    }
  }
  if (problems.length > 0) throw new ManifestError(problems);
  return manifests;
}

function structureProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || Array.isArray(value))
    return 'expected a Kubernetes object (a YAML mapping)';
  const obj = value as Record<string, unknown>;
  if (typeof obj.apiVersion !== 'string' || obj.apiVersion === '') return 'apiVersion is missing';
  if (typeof obj.kind !== 'string' || obj.kind === '') return 'kind is missing';
  const meta = obj.metadata as Record<string, unknown> | undefined;
  if (typeof meta !== 'object' || meta === null) return `${obj.kind}: metadata is missing`;
  if (typeof meta.name !== 'string' || !DNS1123.test(meta.name) || meta.name.length > 253) {
    return `${obj.kind}: metadata.name ${JSON.stringify(meta.name)} is not ${NAME_FORM}`;
  }
  for (const container of podContainers(obj as KubeObject)) {
    if (typeof container.image !== 'string' || !parseImageRef(container.image)) {
      return `${obj.kind} ${meta.name}: container "${String(container.name)}" has image ${JSON.stringify(container.image)}, expected ${IMAGE_REF_FORM}`;
    }
  }
  return undefined;
}

interface Container {
  name: string;
  image: string;
  [key: string]: unknown;
}

/** The containers of a workload's pod template (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, Pod). */
export function podContainers(obj: KubeObject): Container[] {
  const spec = obj.spec as ({ template?: { spec?: PodSpec } } & PodSpec) | undefined;
  const podSpec = obj.kind === 'Pod' ? spec : spec?.template?.spec;
  return [...(podSpec?.initContainers ?? []), ...(podSpec?.containers ?? [])];
}

interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
}

export interface ImageOverride {
  /** A container name, or an image repository such as ghcr.io/acme/web. */
  target: string;
  image: string;
}

export const IMAGES_FORM = 'lines of container=image or image-name=new-ref, e.g. web=ghcr.io/acme/web:1.4.2';

export function parseImageOverrides(lines: string[]): { overrides: ImageOverride[]; problems: string[] } {
  const overrides: ImageOverride[] = [];
  const problems: string[] = [];
  for (const line of lines) {
    const at = line.indexOf('=');
    const target = line.slice(0, at).trim();
    const image = line.slice(at + 1).trim();
    if (at <= 0 || !target || !image) {
      problems.push(`Input "images" has line "${line}": expected ${IMAGES_FORM}`);
    } else if (!parseImageRef(image)) {
      problems.push(`Input "images" has image "${image}" for "${target}": expected ${IMAGE_REF_FORM}`);
    } else {
      overrides.push({ target, image });
    }
  }
  return { overrides, problems };
}

/**
 * Sets images on the containers the overrides name. Every override must hit at least one
 * container, or it is an error listing what is in scope — a silent no-op would deploy the old image.
 */
export function applyImageOverrides(objects: KubeObject[], overrides: ImageOverride[]): string[] {
  const problems: string[] = [];
  const seen: string[] = [];
  for (const override of overrides) {
    let hits = 0;
    for (const obj of objects) {
      for (const container of podContainers(obj)) {
        seen.push(`${container.name} (${container.image})`);
        const repository = parseImageRef(container.image)?.repository;
        if (container.name === override.target || repository === override.target) {
          container.image = override.image;
          hits += 1;
        }
      }
    }
    if (hits === 0) {
      problems.push(
        `Input "images": "${override.target}" matches no container name or image in scope; containers: ${[...new Set(seen)].join(', ') || 'none'}`,
      );
    }
  }
  return problems;
}
