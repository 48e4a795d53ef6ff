/**
 * The runner protocol the start-up path needs (inputs, masks, outputs, annotations, job summary),
 * written to the same files and stdout commands as @actions/core does. Why not @actions/core
 * here: its bundle pulls in undici (~490 kB, ~95 ms to load on our runners), more than the whole
 * budget of a step that fails validation (60 ms). Actions load @actions/core after validation. Formats follow @actions/core 3:
 * `::add-mask::`, `name<<ghadelimiter_<uuid>` in GITHUB_OUTPUT, `%`/CR/LF escaping.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { EOL } from 'node:os';

export interface WorkflowIo {
  /** The input as the runner passes it (INPUT_<NAME>), trimmed; '' when not set. */
  getInput(name: string): string;
  setSecret(value: string): void;
  setOutput(name: string, value: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  /** Error annotation and exit code 1. */
  setFailed(message: string): void;
  appendSummary(markdown: string): void;
}

function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function command(name: string, message: string): void {
  process.stdout.write(`::${name}::${escapeData(message)}${EOL}`);
}

export function createWorkflowIo(env: NodeJS.ProcessEnv = process.env): WorkflowIo {
  return {
    getInput: (name) => (env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`] ?? '').trim(),
    setSecret: (value) => {
      if (value !== '') command('add-mask', value);
    },
    setOutput: (name, value) => {
      const file = env.GITHUB_OUTPUT;
      if (!file) {
        process.stdout.write(`${EOL}::set-output name=${name}::${escapeData(value)}${EOL}`);
        return;
      }
      const delimiter = `ghadelimiter_${randomUUID()}`;
      appendFileSync(file, `${name}<<${delimiter}${EOL}${value}${EOL}${delimiter}${EOL}`, 'utf8');
    },
    info: (message) => process.stdout.write(`${message}${EOL}`),
    warning: (message) => command('warning', message),
    error: (message) => command('error', message),
    setFailed: (message) => {
      process.exitCode = 1;
      command('error', message);
    },
    appendSummary: (markdown) => {
      if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${markdown}${EOL}`, 'utf8');
    },
  };
}

/**
 * The same protocol as plain functions over the live environment, shaped like @actions/core's,
 * for the modules every action loads before validation (inputs, config, the action frame).
 */
const live = createWorkflowIo();
export const getInput = (name: string): string => live.getInput(name);
export const setSecret = (value: string): void => live.setSecret(value);
export const info = (message: string): void => live.info(message);
export const warning = (message: string): void => live.warning(message);
export const setFailed = (message: string): void => live.setFailed(message);
export const setOutput = (name: string, value: string): void => live.setOutput(name, value);
export const appendSummary = (markdown: string): void => live.appendSummary(markdown);
