/**
 * Runs a committed bundle exactly as the GitHub runner does: a Node 24 child process with
 * INPUT_* variables and the runner's files, then parses what the action left behind.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../../..');

export interface RunActionOptions {
  /** The folder name under dist/. */
  action: string;
  /** Inputs by their action.yml names; undefined values are left out. */
  inputs?: Record<string, string | number | boolean | undefined>;
  /** Extra environment (GITHUB_API_URL, KUBECONFIG, ...), over the runner defaults below. */
  env?: Record<string, string | undefined>;
  /** Send SIGINT (the runner's cancel) after this many ms... */
  cancelAfterMs?: number;
  /** ...or as soon as a log line matches. */
  cancelWhen?: RegExp;
  /** SIGKILL (a lost runner: no cleanup at all) as soon as a log line matches. */
  killWhen?: RegExp;
  /** Sees each piece of output as it comes, e.g. to learn when a log group opens. */
  onOutput?: (text: string) => void;
  /** Kill the process if it runs longer than this; the result then says timedOut. */
  timeoutMs?: number;
  cwd?: string;
  /** Also print the child's output as it comes (debugging). */
  echo?: boolean;
}

export interface WorkflowCommand {
  command: string;
  properties: Record<string, string>;
  message: string;
}

export interface ActionResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  outputs: Record<string, string>;
  summary: string;
  /** stdout + stderr without ::add-mask:: lines and without masking: what the action printed. */
  log: string;
  commands: WorkflowCommand[];
  errors: string[];
  warnings: string[];
  masks: string[];
  exportedEnv: Record<string, string>;
  state: Record<string, string>;
  /** Files the action left in RUNNER_TEMP (a kubeconfig left behind would show here). */
  leftovers: string[];
  durationMs: number;
}

/** Node 24, the runtime of `runs.using: node24`, whatever runs the test. */
export function node24(): string {
  if (process.versions.node.startsWith('24.')) return process.execPath;
  const local = join(root, 'node_modules', 'node', 'bin', 'node');
  if (existsSync(local)) return local;
  throw new Error('Node 24 not found: run npm ci (the node@24 devDependency provides it)');
}

function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/** Parses the runner's file-command format: `name=value` lines and `name<<DELIM ... DELIM` blocks. */
export function parseFileCommands(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
      result[name!] = value.join('\n');
    } else if (line.includes('=')) {
      const at = line.indexOf('=');
      result[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return result;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function unescapeProperty(s: string): string {
  return unescapeData(s).replace(/%3A/g, ':').replace(/%2C/g, ',');
}

export function parseCommand(line: string): WorkflowCommand | undefined {
  const match = /^::([a-zA-Z-]+)( [^:]*)?::(.*)$/.exec(line.trim());
  if (!match) return undefined;
  const properties: Record<string, string> = {};
  for (const pair of (match[2] ?? '').trim().split(',').filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at > 0) properties[pair.slice(0, at)] = unescapeProperty(pair.slice(at + 1));
  }
  return { command: match[1]!, properties, message: unescapeData(match[3] ?? '') };
}

export async function runAction(options: RunActionOptions): Promise<ActionResult> {
  const temp = await mkdtemp(join(tmpdir(), `runner-${options.action}-`));
  const files = {
    GITHUB_OUTPUT: join(temp, 'output'),
    GITHUB_STEP_SUMMARY: join(temp, 'summary.md'),
    GITHUB_ENV: join(temp, 'env'),
    GITHUB_STATE: join(temp, 'state'),
    GITHUB_PATH: join(temp, 'path'),
  };
  for (const file of Object.values(files)) await writeFile(file, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? temp,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    RUNNER_TEMP: temp,
    RUNNER_OS: 'Linux',
    GITHUB_WORKSPACE: options.cwd ?? temp,
    GITHUB_REPOSITORY: 'acme/shop',
    GITHUB_REPOSITORY_OWNER: 'acme',
    GITHUB_SHA: '3f786850e387550fdab836ed7e6dc881de23001b',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_RUN_NUMBER: '17',
    GITHUB_ACTOR: 'octocat',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_JOB: 'deploy',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    ...files,
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  for (const [name, value] of Object.entries(options.inputs ?? {})) {
    if (value !== undefined) env[inputEnvName(name)] = String(value);
  }

  const started = Date.now();
  const child = spawn(node24(), [join(root, 'dist', options.action, 'index.js')], {
    cwd: options.cwd ?? temp,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let raw = '';
  let cancelled = false;
  let timedOut = false;
  const timers: NodeJS.Timeout[] = [];
  const cancel = (): void => {
    if (cancelled || child.exitCode !== null) return;
    cancelled = true;
    // The runner sends SIGINT, then SIGTERM 7.5 s later, then kills.
    child.kill('SIGINT');
    timers.push(setTimeout(() => child.kill('SIGTERM'), 7500));
    timers.push(setTimeout(() => child.kill('SIGKILL'), 10_000));
  };
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString();
    raw += text;
    if (options.echo) process.stdout.write(text);
    options.onOutput?.(text);
    if (options.cancelWhen && options.cancelWhen.test(raw)) cancel();
    if (options.killWhen && options.killWhen.test(raw) && child.exitCode === null) child.kill('SIGKILL');
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  if (options.cancelAfterMs !== undefined) timers.push(setTimeout(cancel, options.cancelAfterMs));
  if (options.timeoutMs !== undefined) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, options.timeoutMs),
    );
  }
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done, fail) => {
    child.on('error', fail);
    child.on('close', (code, sig) => done([code, sig]));
  });
  for (const t of timers) clearTimeout(t);

  const commands: WorkflowCommand[] = [];
  const logLines: string[] = [];
  for (const line of raw.split('\n')) {
    const command = parseCommand(line);
    if (command) commands.push(command);
    if (command?.command !== 'add-mask') logLines.push(line);
  }
  const result: ActionResult = {
    exitCode,
    signal,
    timedOut,
    cancelled,
    outputs: parseFileCommands(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    log: logLines.join('\n'),
    commands,
    errors: commands.filter((c) => c.command === 'error').map((c) => c.message),
    warnings: commands.filter((c) => c.command === 'warning').map((c) => c.message),
    masks: commands.filter((c) => c.command === 'add-mask').map((c) => c.message),
    exportedEnv: parseFileCommands(await readFile(files.GITHUB_ENV, 'utf8')),
    state: parseFileCommands(await readFile(files.GITHUB_STATE, 'utf8')),
    leftovers: (await readdir(temp)).filter((f) => !Object.values(files).includes(join(temp, f))),
    durationMs: Date.now() - started,
  };
  await rm(temp, { recursive: true, force: true });
  return result;
}
