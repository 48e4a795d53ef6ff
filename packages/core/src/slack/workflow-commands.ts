/**
 * The runner protocol notify-slack needs (inputs, masks, outputs, annotations, job summary),
 * written to the same files and stdout commands as @actions/core does. Why not @actions/core:
 * its bundle pulls in undici (~490 kB, ~95 ms to load on our runners), over this action's whole
 * budget (500 kB, 60 ms to a validation failure). Formats follow @actions/core 3:
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
