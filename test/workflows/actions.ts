/**
 * What a workflow may say to each action: its inputs and outputs from action.yml, which of its
 * inputs the deploy config can supply (the spec in src/inputs.ts, through the same configKeyFor
 * the actions use), how a literal value is parsed, and the requirements across inputs that
 * action.yml cannot express (`webhook-url` or `token`...).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { configKeyFor } from '@cd-actions/core/config/config';
import type { InputSpecMap } from '@cd-actions/core/inputs/inputs';

export interface ActionContract {
  readonly name: string;
  /** Input name → whether action.yml says `required: true`. */
  readonly inputs: ReadonlyMap<string, { readonly required: boolean }>;
  readonly outputs: ReadonlySet<string>;
  /** Input name → the deploy config key that supplies it (`gate.checks`, `slack.channel`...). */
  readonly configKeys: ReadonlyMap<string, string>;
  /** The action's input specs, to parse literal values as the action would. */
  readonly spec: InputSpecMap;
}

interface ActionYml {
  inputs?: Record<string, { required?: boolean | string } | null>;
  outputs?: Record<string, unknown>;
}

/** Every action in `<root>/actions`, by name. */
export async function loadActions(root: string): Promise<Map<string, ActionContract>> {
  const names = readdirSync(join(root, 'actions'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, 'actions', entry.name, 'action.yml')))
    .map((entry) => entry.name);
  const contracts = new Map<string, ActionContract>();
  for (const name of names) {
    const yml = parse(readFileSync(join(root, 'actions', name, 'action.yml'), 'utf8')) as ActionYml;
    const module = (await import(join(root, 'actions', name, 'src', 'inputs.ts'))) as { spec: InputSpecMap };
    const configKeys = new Map<string, string>();
    for (const [input, spec] of Object.entries(module.spec)) {
      const key = configKeyFor(input, spec.config);
      if (key !== undefined) configKeys.set(input, key);
    }
    contracts.set(name, {
      name,
      inputs: new Map(
        Object.entries(yml.inputs ?? {}).map(([input, declared]) => [
          input,
          { required: String(declared?.required) === 'true' },
        ]),
      ),
      outputs: new Set(Object.keys(yml.outputs ?? {})),
      configKeys,
      spec: module.spec,
    });
  }
  return contracts;
}

/**
 * A requirement across inputs: at least one of `anyOf` must be given (or supplied by the deploy
 * config), when `when` holds. Each mirrors a rule in the action's src/inputs.ts; contract.test.ts
 * proves every one against the action's own validation (`probe` alone fails naming the first of
 * `anyOf`, `probe` with `satisfy` passes), so a rule that changes fails the test here.
 */
export interface CrossInputRequirement {
  readonly action: string;
  readonly anyOf: readonly string[];
  readonly when?: {
    readonly input: string;
    /** The requirement holds when the input is given (`given`), or absent or one of the values. */
    readonly is: 'given' | { readonly absentOr: readonly string[] };
  };
  readonly probe: Readonly<Record<string, string>>;
  readonly satisfy: Readonly<Record<string, string>>;
}

export const CROSS_INPUT_REQUIREMENTS: readonly CrossInputRequirement[] = [
  {
    action: 'health-gate',
    anyOf: ['checks', 'url', 'query', 'deployment'],
    probe: {},
    satisfy: { url: 'https://shop.example.com/healthz' },
  },
  {
    action: 'notify-slack',
    anyOf: ['webhook-url', 'token'],
    probe: { status: 'started' },
    satisfy: { 'webhook-url': 'https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX' },
  },
  {
    action: 'notify-slack',
    anyOf: ['channel'],
    when: { input: 'token', is: 'given' },
    probe: { status: 'started', token: 'xoxb-1-contract' },
    satisfy: { channel: 'C0123456789' },
  },
  {
    action: 'rollback',
    anyOf: ['app', 'deployment'],
    probe: {},
    satisfy: { app: 'web' },
  },
  {
    action: 'deploy-blue-green',
    anyOf: ['manifests', 'images'],
    probe: {},
    satisfy: { images: 'web=ghcr.io/acme/web:1.0.0' },
  },
  {
    action: 'canary-step',
    anyOf: ['manifests', 'images'],
    when: { input: 'action', is: { absentOr: ['run'] } },
    probe: {},
    satisfy: { images: 'web=ghcr.io/acme/web:1.0.0' },
  },
];
