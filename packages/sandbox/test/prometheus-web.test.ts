/**
 * The real Prometheus behind its own TLS and basic auth (`--web.config.file`), as production ones
 * often are: the sandbox serves it so clients can be tested against a secured Prometheus.
 */
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServerCertificates } from '../src/api/tls.js';
import { startPrometheus, type RunningPrometheus } from '../src/cluster/prometheus.js';

// bcrypt (cost 4, computed once with Python's crypt) of the password below.
const PASSWORD = 'gate-pass-7Qx';
const HASH = '$2b$04$.cbNIY2JxkX0zxGG1BoEFemzr./AjPeY.eu.NxlKVDwufVI45VABi';
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

let prometheus: RunningPrometheus;
let ca: string;

function get(path: string, authorization?: string, trust = true): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${prometheus.url}${path}`,
      { ...(trust ? { ca } : {}), headers: authorization ? { authorization } : {}, timeout: 5000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  const certs = await createServerCertificates();
  ca = certs.caCert;
  prometheus = await startPrometheus({
    targets: [],
    web: {
      tls: { cert: certs.cert, key: certs.key },
      basicAuthUsers: { gate: HASH },
      probeAuthorization: basic('gate', PASSWORD),
    },
  });
}, 40_000);
afterAll(() => prometheus?.stop());

describe('Prometheus with a web config', () => {
  it('serves https, verified by the CA of its certificate', async () => {
    expect(prometheus.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    await expect(get('/api/v1/query?query=up', basic('gate', PASSWORD), false)).rejects.toThrow(
      /self-signed|unable to verify/i,
    );
  });

  it('answers the right password and refuses a wrong one or none', async () => {
    expect(await get('/api/v1/query?query=up', basic('gate', PASSWORD))).toBe(200);
    expect(await get('/api/v1/query?query=up', basic('gate', 'wrong'))).toBe(401);
    expect(await get('/api/v1/query?query=up')).toBe(401);
  });
});
