import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createServerCertificates } from '../../../sandbox/src/api/tls.js';
import { resolveSettings } from '../config/config.js';
import type { Kube } from '../kube/kube.js';
import { getSettings, InputError } from './inputs.js';
import {
  parseCa,
  parseHeaders,
  prometheusAccess,
  prometheusAccessInputs,
  prometheusAccessRules,
} from './prometheus.js';

let ca: string;
let workspace: string;
beforeAll(async () => {
  ca = (await createServerCertificates()).caCert;
  workspace = await mkdtemp(join(tmpdir(), 'prometheus-inputs-'));
  await mkdir(join(workspace, 'certs'));
  await writeFile(join(workspace, 'certs', 'prometheus-ca.pem'), ca);
  await writeFile(join(workspace, 'certs', 'not-a-cert.pem'), 'hello\n');
});

const roots = () => ({ roots: { workspace } });

describe('parseHeaders', () => {
  it.each([
    [
      'X-Scope-OrgID: tenant-1\nX-Api-Key: "k3y:v@lue"',
      { 'X-Scope-OrgID': 'tenant-1', 'X-Api-Key': 'k3y:v@lue' },
    ],
    ['{"X-Scope-OrgID": 42}', { 'X-Scope-OrgID': '42' }],
    // Not YAML (a second colon), read as lines: the value is taken as written.
    ['Authorization: Token a: b\nX-Extra: *star', { Authorization: 'Token a: b', 'X-Extra': '*star' }],
  ])('%j', (raw, headers) => {
    expect(parseHeaders(raw)).toEqual({ ok: true, value: headers });
  });

  it.each([
    ['X Bad: s3cr3t-value', '"X Bad" is not a header name'],
    ['X-A: s3cr3t-value\nnot a header', 'line 2 is not "Name: value"'],
    ['"X Bad": s3cr3t-value', '"X Bad" is not a header name'],
    ['Host: s3cr3t-value', 'header "Host" is set by the HTTP client itself'],
    ['X-A: s3cr3t-value\nx-a: s3cr3t-value', 'header "x-a" is given twice'],
    ['X-A: ""', 'the value of header "X-A" is empty or holds control characters'],
    ['X-A: [s3cr3t-value]', 'the value of header "X-A" is not text'],
    ['just-s3cr3t-value', 'line 1 is not "Name: value"'],
    ['', 'no header is given'],
  ])('refuses %j without quoting a value', (raw, reason) => {
    const parsed = parseHeaders(raw);
    expect(parsed).toEqual({ ok: false, reason });
  });
});

describe('parseCa', () => {
  it('takes PEM text or a file in the workspace, and keeps the certificates only', () => {
    const fromText = parseCa(`# our CA\n${ca}`, roots());
    expect(fromText).toEqual({ ok: true, value: ca.trim() + '\n' });
    expect(parseCa('certs/prometheus-ca.pem', roots())).toEqual(fromText);
  });

  it.each([
    ['certs/missing.pem', /^cannot read .*missing\.pem \(ENOENT\)$/],
    ['../etc/ca.pem', /leads out of the workspace/],
    ['certs/not-a-cert.pem', /^it holds no PEM certificate$/],
    [
      '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----',
      /^certificate 1 of 1 does not parse$/,
    ],
  ])('refuses %s', (raw, reason) => {
    const parsed = parseCa(raw, roots());
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.reason).toMatch(reason);
  });
});

const spec = prometheusAccessInputs;
function settings(given: Record<string, string>) {
  return getSettings(spec, { read: (name) => given[name] ?? '', rules: prometheusAccessRules, workspace });
}
function problems(given: Record<string, string>): string {
  try {
    settings(given);
  } catch (error) {
    if (error instanceof InputError) return error.message;
    throw error;
  }
  throw new Error('no problem found');
}

describe('prometheus access inputs', () => {
  const url = 'https://prom.example.com';

  it('builds the access, masking the secrets', () => {
    const masked: string[] = [];
    const s = settings({
      'prometheus-url': url,
      'prometheus-username': 'gate',
      'prometheus-password': 'pa55word',
      'prometheus-headers': 'X-Scope-OrgID: 1\nX-Api-Key: abcdef123',
      'prometheus-ca': 'certs/prometheus-ca.pem',
    });
    const access = prometheusAccess(s, undefined, (secret) => masked.push(secret));
    expect(access).toEqual({
      basicAuth: { username: 'gate', password: 'pa55word' },
      headers: { 'X-Scope-OrgID': '1', 'X-Api-Key': 'abcdef123' },
      ca: expect.stringContaining('-----BEGIN CERTIFICATE-----') as string,
      via: 'direct',
    });
    // A one-character tenant id is no credential: masking it would star out every 1 in the log.
    expect(masked).toEqual(['abcdef123', Buffer.from('gate:pa55word').toString('base64')]);
  });

  it('gives the Kubernetes client to a kubernetes access only', () => {
    const kube = { server: 'https://api' } as Kube;
    const direct = settings({ 'prometheus-url': url, 'prometheus-token': 't0ken-value' });
    expect(prometheusAccess(direct, kube, () => undefined)).toEqual({
      bearerToken: 't0ken-value',
      headers: {},
      via: 'direct',
    });
    const proxied = settings({
      'prometheus-url': 'http://prometheus.monitoring:9090',
      'prometheus-via': 'kubernetes',
      'prometheus-headers': 'X-Scope-OrgID: tenant-1',
    });
    expect(prometheusAccess(proxied, kube, () => undefined)).toMatchObject({ via: 'kubernetes', kube });
  });

  it.each([
    [{ 'prometheus-token': 's3cr3t-token' }, 'Input "prometheus-token" is given without "prometheus-url"'],
    [
      { 'prometheus-url': url, 'prometheus-username': 'gate' },
      'Input "prometheus-password" is required with "prometheus-username": basic auth takes both',
    ],
    [
      { 'prometheus-url': url, 'prometheus-password': 's3cr3t-pass' },
      'Input "prometheus-username" is required with "prometheus-password"',
    ],
    [
      {
        'prometheus-url': url,
        'prometheus-token': 's3cr3t-token',
        'prometheus-username': 'gate',
        'prometheus-password': 's3cr3t-pass',
      },
      'Input "prometheus-token" and "prometheus-username" each set the Authorization header: expected one of them',
    ],
    [
      { 'prometheus-url': 'https://u:s3cr3t-pass@prom.example.com', 'prometheus-token': 's3cr3t-token' },
      'Input "prometheus-token" and "prometheus-url" (user:password@) each set the Authorization header',
    ],
    [
      {
        'prometheus-url': url,
        'prometheus-token': 's3cr3t-token',
        'prometheus-headers': 'Authorization: Bearer s3cr3t-other',
      },
      'Input "prometheus-token" and "prometheus-headers" (Authorization) each set the Authorization header',
    ],
    [
      { 'prometheus-url': 'http://prometheus:9090', 'prometheus-via': 'kubernetes' },
      'Input "prometheus-url" with prometheus-via: kubernetes: the host "prometheus" does not name a Service and its namespace; expected an in-cluster URL',
    ],
    [
      {
        'prometheus-url': 'http://prometheus.monitoring:9090',
        'prometheus-via': 'kubernetes',
        'prometheus-token': 's3cr3t-token',
      },
      'Input "prometheus-token" cannot reach Prometheus through the Kubernetes API: the API server takes the Authorization header',
    ],
    [
      {
        'prometheus-url': 'http://prometheus.monitoring:9090',
        'prometheus-via': 'kubernetes',
        'prometheus-ca': 'certs/prometheus-ca.pem',
      },
      'Input "prometheus-ca" has no use with prometheus-via: kubernetes',
    ],
    [
      { 'prometheus-url': url, 'prometheus-via': 'proxy' },
      'Input "prometheus-via" has value "proxy": expected one of direct, kubernetes',
    ],
    [
      { 'prometheus-url': url, 'prometheus-headers': 'X Api Key: s3cr3t-header' },
      'Input "prometheus-headers" has value "***": "X Api Key" is not a header name; expected a YAML mapping of header names to values, or "Name: value" lines',
    ],
    [
      { 'prometheus-url': url, 'prometheus-ca': 'certs/not-a-cert.pem' },
      'Input "prometheus-ca" has value "certs/not-a-cert.pem": it holds no PEM certificate; expected a PEM CA bundle (-----BEGIN CERTIFICATE-----), or the path of one',
    ],
  ])('refuses %j, naming the input and never a secret', (given, message) => {
    const text = problems(given);
    expect(text).toContain(message);
    expect(text).not.toMatch(/s3cr3t/);
  });
});

describe('prometheus access in the deploy config', () => {
  async function configWorkspace(text: string): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'prometheus-config-'));
    await mkdir(join(dir, '.github'));
    await writeFile(join(dir, '.github', 'deploy.yml'), text);
    await writeFile(join(dir, 'ca.pem'), ca);
    return dir;
  }
  const read = (given: Record<string, string>) => (name: string) => given[name] ?? '';

  it('takes headers, the CA path and via from the environment, credentials from inputs only', async () => {
    const dir = await configWorkspace(`environments:
  prod:
    gate:
      prometheus-url: http://prometheus.monitoring.svc:9090
      prometheus-headers:
        X-Scope-OrgID: "42"
      prometheus-via: kubernetes
  staging:
    gate:
      prometheus-url: https://prom.example.com
      prometheus-ca: ca.pem
`);
    const prod = resolveSettings(spec, {
      read: read({ environment: 'prod' }),
      workspace: dir,
      rules: prometheusAccessRules,
    });
    expect(prod).toMatchObject({ prometheusHeaders: { 'X-Scope-OrgID': '42' }, prometheusVia: 'kubernetes' });
    const staging = resolveSettings(spec, {
      read: read({ environment: 'staging', 'prometheus-token': 't0ken-value' }),
      workspace: dir,
      rules: prometheusAccessRules,
    });
    expect(staging).toMatchObject({
      prometheusToken: 't0ken-value',
      prometheusCa: expect.stringContaining('BEGIN') as string,
    });
  });

  it('refuses a credential written in the file', async () => {
    const dir = await configWorkspace(`environments:
  prod:
    gate:
      prometheus-url: https://prom.example.com
      prometheus-token: s3cr3t-token
`);
    let message = '';
    try {
      resolveSettings(spec, { read: read({ environment: 'prod' }), workspace: dir });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /\.github\/deploy\.yml:5: environments\.prod\.gate\.prometheus-token: unknown key; expected one of .*prometheus-headers, prometheus-ca, prometheus-via/,
    );
    expect(message).not.toContain('s3cr3t');
  });
});
