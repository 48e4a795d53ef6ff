/**
 * Run as a child process by faults.test.ts: starts the sandbox, leaves a request stalled or
 * slowed on every server (one of them given up by its client), stops the sandbox, prints what
 * each client saw as one JSON line, and must then exit by itself: a stall's timer or socket
 * left behind would keep it alive for the stall's ten minutes.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { RESOURCE_TYPES } from '../src/resources.js';
import { startSandbox } from '../src/sandbox.js';

const TEN_MINUTES = 600_000;
const sandbox = await startSandbox({ rps: 0 });
const ca = Buffer.from(sandbox.api.caData, 'base64');

/** Resolves with the status, or the error a client gets when the answer never comes. */
function send(
  url: URL,
  method: string,
  body?: unknown,
  signal?: AbortSignal,
  token?: string,
): Promise<string> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
  return new Promise((done) => {
    const onAnswer = (res: IncomingMessage): void => {
      res.resume();
      done(String(res.statusCode));
    };
    const options = { method, headers, agent: false as const, signal };
    const req =
      url.protocol === 'https:'
        ? httpsRequest(url, { ...options, ca }, onAnswer)
        : httpRequest(url, options, onAnswer);
    req.on('error', (error: NodeJS.ErrnoException) =>
      done(error.name === 'AbortError' ? error.name : (error.code ?? error.message)),
    );
    if (text !== undefined) req.write(text);
    req.end();
  });
}

const api = (path: string) => new URL(path, sandbox.apiServer);
const configmaps = '/api/v1/namespaces/default/configmaps';
const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
const admin = sandbox.api.adminToken;

sandbox.faults.add({ target: 'api', match: { verb: 'create' }, nth: 1, stall: true, name: 'stalled' });
sandbox.faults.add({ target: 'api', match: { verb: 'create' }, nth: 2, latencyMs: TEN_MINUTES });
sandbox.faults.add({ target: 'api', match: { verb: 'create' }, nth: 3, stallAfterServe: true });
sandbox.faults.add({ target: 'api', match: { verb: 'watch' }, stall: true });
sandbox.faults.add({ target: 'slack', stall: true });
sandbox.faults.add({ target: 'github', latencyMs: TEN_MINUTES });

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hits = async (count: number): Promise<void> => {
  while (sandbox.faults.hits.length < count) await wait(20);
};

// One at a time, so each create meets the rule meant for it.
const stalledCreate = send(api(configmaps), 'POST', configMap('stalled'), undefined, admin);
await hits(1);
const client = new AbortController();
const slowCreate = send(api(configmaps), 'POST', configMap('slow'), client.signal, admin);
await hits(2);
const unansweredCreate = send(api(configmaps), 'POST', configMap('unanswered'), undefined, admin);
await hits(3);
const stalledWatch = send(api(`${configmaps}?watch=true`), 'GET', undefined, undefined, admin);
const stalledSlack = send(new URL('/api/chat.postMessage', sandbox.slack.url), 'POST', {
  channel: '#deploys',
  text: 'stalled',
});
const slowGitHub = send(new URL('/rate_limit', sandbox.github.url), 'GET');
await hits(6);

client.abort();
const slowCreateAbortedByClient = await slowCreate;
while (!sandbox.audit.entries.some((e) => e.fault?.kind === 'latency')) await wait(20);

await sandbox.stop();
const outcomes = {
  stalledCreate: await stalledCreate,
  slowCreateAbortedByClient,
  unansweredCreate: await unansweredCreate,
  stalledWatch: await stalledWatch,
  stalledSlack: await stalledSlack,
  slowGitHub: await slowGitHub,
};
const configMapType = RESOURCE_TYPES.find((t) => t.kind === 'ConfigMap')!;
console.log(
  JSON.stringify({
    outcomes,
    storedConfigMaps: sandbox.store.list(configMapType, 'default').items.map((c) => c.metadata.name),
    slackMessages: sandbox.slack.messages.length,
  }),
);
