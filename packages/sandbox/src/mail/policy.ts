/**
 * A Postfix policy service (the SMTP access policy delegation protocol, as greylisting daemons
 * such as postgrey speak it): Postfix asks it at RCPT TO and at the end of DATA, and it answers
 * DUNNO, or a 4xx a test asked for. So the real server, not a stand-in, defers a recipient the
 * way a greylisting server does and takes it on the next attempt.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface PolicyRequest {
  /** RCPT or END-OF-MESSAGE. */
  state: string;
  recipient: string;
  /** The SASL login of the session ('' when none). */
  login: string;
}

export interface PolicyService {
  port: number;
  /** The next `times` RCPT TO for `address` are answered 450 (greylisted). */
  deferRecipient(address: string, times?: number): void;
  /** The next `times` messages are answered 451 at the end of DATA. */
  deferMessage(times?: number): void;
  /** Every question Postfix asked, oldest first. */
  readonly requests: PolicyRequest[];
  clear(): void;
  stop(): Promise<void>;
}

export async function startPolicyService(): Promise<PolicyService> {
  const recipients = new Map<string, number>();
  let messages = 0;
  const requests: PolicyRequest[] = [];
  const sockets = new Set<Socket>();

  const decide = (attributes: Map<string, string>): string => {
    const state = attributes.get('protocol_state') ?? '';
    const recipient = (attributes.get('recipient') ?? '').toLowerCase();
    requests.push({ state, recipient, login: attributes.get('sasl_username') ?? '' });
    if (state === 'RCPT' && (recipients.get(recipient) ?? 0) > 0) {
      recipients.set(recipient, recipients.get(recipient)! - 1);
      return '450 4.2.0 greylisted, try again shortly';
    }
    if (state === 'END-OF-MESSAGE' && messages > 0) {
      messages -= 1;
      return '451 4.3.0 queue file write error, try again';
    }
    return 'DUNNO';
  };

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk.toString('utf8');
      // One request per block of name=value lines ending in an empty line; the socket is reused.
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const attributes = new Map<string, string>();
        for (const line of block.split('\n')) {
          const at = line.indexOf('=');
          if (at > 0) attributes.set(line.slice(0, at), line.slice(at + 1));
        }
        socket.write(`action=${decide(attributes)}\n\n`);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    deferRecipient(address, times = 1) {
      recipients.set(address.toLowerCase(), times);
    },
    deferMessage(times = 1) {
      messages = times;
    },
    requests,
    clear() {
      recipients.clear();
      messages = 0;
      requests.length = 0;
    },
    stop() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
