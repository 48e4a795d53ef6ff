/** What the sandbox needs to run real servers beside it (Prometheus, Postfix): a port, a clean stop. */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A loopback port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** SIGTERM (a server ends its own children on it), then SIGKILL after 5 s; resolves once it exited. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export interface FollowedChild {
  readonly exited: boolean;
  /** The last 4000 characters it printed, a spawn error included. */
  readonly output: string;
}

/** Follows a starting server: what it printed and whether it exited, for a start-up error. */
export function followChild(child: ChildProcess): FollowedChild {
  let output = '';
  let exited = false;
  const keep = (chunk: Buffer | string): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('exit', () => {
    exited = true;
  });
  child.once('error', (error) => {
    exited = true;
    keep(String(error));
  });
  return {
    get exited() {
      return exited;
    },
    get output() {
      return output;
    },
  };
}
