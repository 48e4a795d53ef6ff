/**
 * The documentation a team adopts the actions from stays true to the actions: each README lists
 * exactly the inputs and outputs its action.yml declares, with the Required and Default columns
 * action.yml and the input spec give; every action.yml has branding; the examples name only
 * actions that exist, always under the one owner placeholder; and docs/security.md shows the
 * Roles the READMEs give.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { parse } from 'yaml';
import { configKeyFor } from '@cd-actions/core/config/config';
import type { InputSpecMap } from '@cd-actions/core/inputs/inputs';
import { ourAction } from '../workflows/contract.js';

const root = resolve(import.meta.dirname, '../..');
/** The owner every example writes: users replace it with their fork's (README, "Use it from your fork"). */
const OWNER = 'your-org';
/** The colours GitHub's action metadata accepts for `branding.color`. */
const BRANDING_COLORS = new Set([
  'white',
  'black',
  'yellow',
  'blue',
  'green',
  'orange',
  'red',
  'purple',
  'gray-dark',
]);
const INPUT_HEADER = ['Input', 'Required', 'Default', 'Description'];
const OUTPUT_HEADER = ['Output', 'Description'];
const ROLE_HEADER = ['API group', 'Resources', 'Verbs'];

interface ActionYml {
  branding?: { icon?: unknown; color?: unknown };
  inputs?: Record<string, { required?: boolean; default?: string | number | boolean } | null>;
  outputs?: Record<string, unknown>;
}

const actionNames = readdirSync(join(root, 'actions'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(root, 'actions', entry.name, 'action.yml')))
  .map((entry) => entry.name);

const read = (path: string): string => readFileSync(join(root, path), 'utf8');

// ---- Markdown ------------------------------------------------------------------------------

/** The text under `heading` (a whole heading line such as `## Inputs`) up to the next heading of its level or above. */
function section(markdown: string, heading: string): string | undefined {
  const level = /^#+/.exec(heading)![0].length;
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === heading);
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

interface Table {
  header: string[];
  rows: string[][];
}

/** A row's cells, split on the pipes that are not escaped (`\|` stays inside its cell). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replace(/\\\|/g, '|'));
}

/** Every pipe table in the text: a header row, a delimiter row, then its rows. */
function tables(markdown: string): Table[] {
  const lines = markdown.split('\n');
  const found: Table[] = [];
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i]!.trim().startsWith('|') || !/^\s*\|?\s*:?-{3,}/.test(lines[i + 1]!)) continue;
    const table: Table = { header: cells(lines[i]!), rows: [] };
    let j = i + 2;
    for (; j < lines.length && lines[j]!.trim().startsWith('|'); j++) table.rows.push(cells(lines[j]!));
    found.push(table);
    i = j - 1;
  }
  return found;
}

/** The one table of a README section whose first column is `first`; problems say what is wrong with it. */
function tableIn(markdown: string, heading: string, header: string[]): { table?: Table; problems: string[] } {
  const text = section(markdown, heading);
  if (text === undefined) return { problems: [`no "${heading}" section`] };
  const candidates = tables(text).filter((t) => t.header[0] === header[0]);
  if (candidates.length !== 1)
    return {
      problems: [`"${heading}" has ${candidates.length} tables starting with "${header[0]}", expected 1`],
    };
  const table = candidates[0]!;
  if (table.header.join(' | ') !== header.join(' | '))
    return {
      problems: [
        `"${heading}" table columns are "${table.header.join(' | ')}", expected "${header.join(' | ')}"`,
      ],
    };
  return { table, problems: [] };
}

/** The names of a table's first column, each one name in backticks; problems for any other form or a repeat. */
function namedRows(table: Table, what: string): { rows: Map<string, string[]>; problems: string[] } {
  const rows = new Map<string, string[]>();
  const problems: string[] = [];
  for (const row of table.rows) {
    const name = /^`([a-z0-9][a-z0-9-]*)`$/.exec(row[0] ?? '')?.[1];
    if (name === undefined)
      problems.push(`${what} row "${row[0]}": the first column must be one name in backticks`);
    else if (rows.has(name)) problems.push(`${what} ${name} is listed twice`);
    else rows.set(name, row);
  }
  return { rows, problems };
}

function sameNames(declared: string[], documented: Iterable<string>, what: string): string[] {
  const listed = new Set(documented);
  return [
    ...declared
      .filter((name) => !listed.has(name))
      .map((name) => `${what} ${name}: in action.yml, missing from the README table`),
    ...[...listed]
      .filter((name) => !declared.includes(name))
      .map((name) => `${what} ${name}: in the README table, not in action.yml`),
  ];
}

// ---- One action's README against its action.yml ---------------------------------------------

function inputProblems(readme: string, yml: ActionYml, spec: InputSpecMap | undefined): string[] {
  const { table, problems } = tableIn(readme, '## Inputs', INPUT_HEADER);
  if (!table) return problems;
  const { rows, problems: rowProblems } = namedRows(table, 'input');
  problems.push(...rowProblems, ...sameNames(Object.keys(yml.inputs ?? {}), rows.keys(), 'input'));
  for (const [name, [, required, defaultCell, description]] of rows) {
    const declared = yml.inputs?.[name];
    if (declared === undefined) continue;
    const expectRequired = declared?.required === true ? 'yes' : 'no';
    if (required !== expectRequired)
      problems.push(`input ${name}: Required says "${required}", action.yml says ${expectRequired}`);
    if (declared?.default !== undefined) {
      const expected = `\`${String(declared.default)}\``;
      if (defaultCell !== expected)
        problems.push(`input ${name}: Default says "${defaultCell}", action.yml's default is ${expected}`);
    }
    const inputSpec = spec?.[name];
    if (inputSpec === undefined) continue;
    // The action's own default (action.yml declares none where the deploy config may give one).
    if (inputSpec.default !== undefined && !defaultCell!.includes(`\`${inputSpec.default}\``))
      problems.push(
        `input ${name}: Default "${defaultCell}" does not show the action's default \`${inputSpec.default}\``,
      );
    const configKey = configKeyFor(name, inputSpec.config);
    if (configKey !== undefined && !defaultCell!.includes(`config \`${configKey}\``))
      problems.push(
        `input ${name}: Default "${defaultCell}" does not name the deploy config key (config \`${configKey}\`)`,
      );
    if (inputSpec.secret && !/masked/i.test(description ?? ''))
      problems.push(`input ${name}: a secret, but its Description does not say it is masked`);
  }
  return problems;
}

function outputProblems(readme: string, yml: ActionYml): string[] {
  const { table, problems } = tableIn(readme, '## Outputs', OUTPUT_HEADER);
  if (!table) return problems;
  const { rows, problems: rowProblems } = namedRows(table, 'output');
  return [...problems, ...rowProblems, ...sameNames(Object.keys(yml.outputs ?? {}), rows.keys(), 'output')];
}

function brandingProblems(yml: ActionYml): string[] {
  const { icon, color } = yml.branding ?? {};
  const problems: string[] = [];
  if (typeof icon !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(icon))
    problems.push(
      `branding.icon is ${JSON.stringify(icon)}: expected a Feather icon name such as upload-cloud`,
    );
  if (typeof color !== 'string' || !BRANDING_COLORS.has(color))
    problems.push(
      `branding.color is ${JSON.stringify(color)}: expected one of ${[...BRANDING_COLORS].join(', ')}`,
    );
  return problems;
}

// ---- References to the actions --------------------------------------------------------------

/** Everything a user reads or copies that may name an action: READMEs, docs, the changelog, workflows. */
function documentFiles(): string[] {
  const list = (dir: string, pattern: RegExp): string[] =>
    existsSync(join(root, dir))
      ? readdirSync(join(root, dir))
          .filter((name) => pattern.test(name))
          .map((name) => join(dir, name))
      : [];
  return [
    'README.md',
    'CHANGELOG.md',
    ...list('docs', /\.md$/),
    ...actionNames.map((name) => join('actions', name, 'README.md')),
    'workflows-examples/README.md',
    ...list('workflows-examples/.github/workflows', /\.ya?ml$/),
    ...list('.github/workflows', /\.ya?ml$/),
  ].filter((path) => existsSync(join(root, path)));
}

/**
 * Problems with the actions a text names: a `uses:` of ours under another owner, a
 * `cd-actions/actions/<name>`, `./actions/<name>` or relative link into `actions/` whose folder
 * does not exist. `<name>` written as a placeholder is not a name.
 */
function referenceProblems(text: string, file: string, existing: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const lines = text.split('\n');
  const missing = (name: string, line: number, how: string): void => {
    if (!existing.has(name))
      problems.push(`${file}:${line}: ${how} names actions/${name}, which does not exist`);
  };
  lines.forEach((content, index) => {
    const line = index + 1;
    for (const [, uses] of content.matchAll(/\buses:\s*['"]?([^\s'"#]+)/g)) {
      const owner = /^([^/]+)\/cd-actions\/actions\//.exec(uses!)?.[1];
      if (owner !== undefined && owner !== OWNER)
        problems.push(
          `${file}:${line}: uses ${uses} with owner "${owner}"; every example writes ${OWNER}/cd-actions`,
        );
      const name = ourAction(uses);
      if (name !== undefined && /^[a-z0-9-]+$/.test(name)) missing(name, line, `uses ${uses}`);
    }
    for (const [, name] of content.matchAll(/cd-actions\/actions\/([a-z0-9][a-z0-9-]*)(?=[@/`'")\s]|$)/g))
      missing(name!, line, 'a reference');
    for (const [, target] of content.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue; // a URL, not a path in the repository
      const path = relative(root, resolve(root, dirname(file), target!));
      const parts = path.split(sep);
      if (parts[0] === 'actions' && parts.length > 1) missing(parts[1]!, line, `the link ${target}`);
    }
  });
  return problems;
}

// ---- docs/security.md against the README Roles -----------------------------------------------

type Rules = Map<string, string>;

/** `group resource` → its sorted verbs, from the Role rules of a README's "Minimal RBAC" YAML. */
function readmeRole(readme: string): Rules | undefined {
  const text = section(readme, '## Minimal RBAC') ?? '';
  for (const [, block] of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    const doc = parse(block!) as {
      kind?: string;
      rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    };
    if (doc?.kind !== 'Role') continue;
    const rules: Rules = new Map();
    for (const rule of doc.rules ?? [])
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          rules.set(`${group} ${resource}`, [...rule.verbs].sort().join(', '));
    return rules;
  }
  return undefined;
}

/** The same map from an action's table in docs/security.md (`""` is the core group). */
function securityRole(security: string, action: string): Rules | undefined {
  const text = section(security, `### ${action}`);
  const table =
    text === undefined ? undefined : tables(text).find((t) => t.header.join('|') === ROLE_HEADER.join('|'));
  if (!table) return undefined;
  const rules: Rules = new Map();
  for (const [groupCell, resourcesCell, verbsCell] of table.rows) {
    const group = groupCell!.replace(/`/g, '').replace(/^""$/, '');
    const verbs = verbsCell!
      .split(',')
      .map((verb) => verb.trim())
      .sort()
      .join(', ');
    for (const resource of resourcesCell!.split(','))
      rules.set(`${group} ${resource.replace(/`/g, '').trim()}`, verbs);
  }
  return rules;
}

// ---- The tests -------------------------------------------------------------------------------

describe.each(actionNames)('actions/%s', (name) => {
  const yml = parse(read(join('actions', name, 'action.yml'))) as ActionYml;
  const readme = read(join('actions', name, 'README.md'));

  it("README's Inputs table lists exactly action.yml's inputs, with its Required and Default", async () => {
    const specFile = join(root, 'actions', name, 'src', 'inputs.ts');
    const spec = existsSync(specFile)
      ? ((await import(specFile)) as { spec?: InputSpecMap }).spec
      : undefined;
    expect(inputProblems(readme, yml, spec)).toEqual([]);
  });

  it("README's Outputs table lists exactly action.yml's outputs", () => {
    expect(outputProblems(readme, yml)).toEqual([]);
  });

  it('action.yml has branding: an icon and a colour', () => {
    expect(brandingProblems(yml)).toEqual([]);
  });

  it('docs/security.md has a section for it, with the Role its README gives', () => {
    const security = read('docs/security.md');
    expect(section(security, `### ${name}`), `docs/security.md has no "### ${name}"`).toBeDefined();
    const role = readmeRole(readme);
    if (role === undefined) return; // no Role of its own (rollback refers to deploy-rolling's; notify-slack needs none)
    expect(securityRole(security, name)).toEqual(role);
  });
});

describe('references to the actions', () => {
  it.each(documentFiles())('%s names only actions that exist, under your-org/cd-actions', (file) => {
    expect(referenceProblems(read(file), file, new Set(actionNames))).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const readme = [
    '## Inputs',
    '',
    '| Input | Required | Default | Description |',
    '| --- | --- | --- | --- |',
    '| `status` | no | — | The status |',
    '| `timeout` | no | 30s | How long |',
    '',
    '## Outputs',
    '',
    '| Output | Description |',
    '| --- | --- |',
    '| `ok` | Whether it worked |',
  ].join('\n');
  const yml: ActionYml = {
    inputs: { status: { required: true }, timeout: { default: '30s' }, token: {} },
    outputs: { ok: null, ts: null },
  };

  it('name missing and extra names, and Required and Default that disagree', () => {
    expect(inputProblems(readme.replace('`status`', '`state`'), yml, undefined)).toEqual([
      'input status: in action.yml, missing from the README table',
      'input token: in action.yml, missing from the README table',
      'input state: in the README table, not in action.yml',
      'input timeout: Default says "30s", action.yml\'s default is `30s`',
    ]);
    expect(inputProblems(readme, yml, undefined)).toContain(
      'input status: Required says "no", action.yml says yes',
    );
    expect(outputProblems(readme, yml)).toEqual(['output ts: in action.yml, missing from the README table']);
  });

  it('find an action that does not exist and an owner other than the placeholder', () => {
    const text = [
      '- uses: acme/cd-actions/actions/deploy-rolling@v1',
      '- uses: your-org/cd-actions/actions/deploy-canary@v1',
      'See [the canary](../actions/deploy-canary/README.md); any `your-org/cd-actions/actions/<name>@v1`.',
    ].join('\n');
    expect(referenceProblems(text, 'docs/x.md', new Set(['deploy-rolling']))).toEqual([
      'docs/x.md:1: uses acme/cd-actions/actions/deploy-rolling@v1 with owner "acme"; every example writes your-org/cd-actions',
      'docs/x.md:2: uses your-org/cd-actions/actions/deploy-canary@v1 names actions/deploy-canary, which does not exist',
      'docs/x.md:2: a reference names actions/deploy-canary, which does not exist',
      'docs/x.md:3: the link ../actions/deploy-canary/README.md names actions/deploy-canary, which does not exist',
    ]);
  });

  it('require branding', () => {
    expect(brandingProblems({ branding: { icon: 'upload-cloud', color: 'blue' } })).toEqual([]);
    expect(brandingProblems({})).toHaveLength(2);
    expect(brandingProblems({ branding: { icon: 'upload-cloud', color: 'teal' } })).toHaveLength(1);
  });
});
