/**
 * Runs the real Prometheus binary (Debian package `prometheus`) against the sandbox's
 * metrics: a generated config scraping every second, a temporary TSDB, a free loopback port.
 * With `faults`, the returned URL is a small proxy that applies `prometheus` fault rules
 * (5xx, 429, latency, dropped or stalled connections) before passing requests on, so gates can
 * be tested against a flaky Prometheus. With `web`, Prometheus's own web config puts it behind
 * TLS and basic auth (`--web.config.file`), so clients can be tested against a secured one.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { request as tlsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyConnectionFault, faultNote, type AuditLog, type Faults } from '../faults.js';
import { followChild, freePort, stopProcess } from '../processes.js';

export interface PrometheusOptions {
  /** host:port of each metrics endpoint (path /metrics). */
  targets: string[];
  /** Scrape and rule evaluation interval; default 1. */
  scrapeIntervalSeconds?: number;
  /** Default: env PROMETHEUS_BIN, else `prometheus` on the PATH. */
  binary?: string;
  /** How long to wait for /-/ready; default 30 s. */
  readyTimeoutMs?: number;
  /** When given, the URL answered is a proxy applying `prometheus` faults. */
  faults?: Faults;
  audit?: AuditLog;
  /** Prometheus's own TLS and basic auth; the URL is then https when `tls` is given. */
  web?: PrometheusWebOptions;
}

export interface PrometheusWebOptions {
  /** Serve https with this certificate and key (PEM). */
  tls?: { cert: string; key: string };
  /** User name → bcrypt hash of the password: every request must then carry basic auth. */
  basicAuthUsers?: Record<string, string>;
  /** The Authorization header the readiness probe sends, when basicAuthUsers is set. */
  probeAuthorization?: string;
}

export interface RunningPrometheus {
  url: string;
  stop(): Promise<void>;
}

function findBinary(binary: string): string | undefined {
  const candidates = binary.includes('/')
    ? [binary]
    : [
        ...(process.env.PATH ?? '')
          .split(':')
          .filter(Boolean)
          .map((dir) => join(dir, binary)),
        `/usr/bin/${binary}`,
      ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** /-/ready answers 200; over TLS the sandbox's own child is not verified, as it is no client under test. */
function isReady(url: string, authorization?: string): Promise<boolean> {
  const secure = url.startsWith('https:');
  return new Promise((resolve) => {
    const probe = (secure ? tlsRequest : request)(
      `${url}/-/ready`,
      {
        timeout: 1000,
        headers: authorization ? { authorization } : {},
        ...(secure ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    probe.on('timeout', () => probe.destroy());
    probe.on('error', () => resolve(false));
    probe.end();
  });
}

/** The `--web.config.file` document, with the certificate written beside it. */
function webConfig(dir: string, web: PrometheusWebOptions): string {
  const lines: string[] = [];
  if (web.tls) {
    writeFileSync(join(dir, 'web.crt'), web.tls.cert);
    writeFileSync(join(dir, 'web.key'), web.tls.key, { mode: 0o600 });
    lines.push(
      'tls_server_config:',
      `  cert_file: ${join(dir, 'web.crt')}`,
      `  key_file: ${join(dir, 'web.key')}`,
    );
  }
  const users = Object.entries(web.basicAuthUsers ?? {});
  if (users.length > 0)
    lines.push(
      'basic_auth_users:',
      ...users.map(([user, hash]) => `  ${JSON.stringify(user)}: ${JSON.stringify(hash)}`),
    );
  return `${lines.join('\n')}\n`;
}

export function prometheusConfig(targets: string[], intervalSeconds: number): string {
  const interval = `${intervalSeconds}s`;
  return [
    'global:',
    `  scrape_interval: ${interval}`,
    `  evaluation_interval: ${interval}`,
    `  scrape_timeout: ${interval}`,
    'scrape_configs:',
    '  - job_name: sandbox',
    '    honor_labels: true',
    '    metrics_path: /metrics',
    '    static_configs:',
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
    '',
  ].join('\n');
}

export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const wanted = options.binary ?? process.env.PROMETHEUS_BIN ?? 'prometheus';
  const binary = findBinary(wanted);
  if (!binary) {
    throw new Error(
      `prometheus not found at ${wanted}: install it with \`apt-get install prometheus\` or set PROMETHEUS_BIN`,
    );
  }
  if (options.faults && options.web?.tls)
    throw new Error('the fault proxy speaks plain HTTP: give faults or web.tls, not both');
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-prometheus-'));
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, prometheusConfig(options.targets, options.scrapeIntervalSeconds ?? 1));
  const webFile = join(dir, 'web.yml');
  if (options.web) writeFileSync(webFile, webConfig(dir, options.web));
  const scheme = options.web?.tls ? 'https' : 'http';
  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const url = `${scheme}://127.0.0.1:${port}`;
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=2h',
        '--log.level=warn',
        ...(options.web ? [`--web.config.file=${webFile}`] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const followed = followChild(child);
    while (
      !followed.exited &&
      Date.now() < deadline &&
      !(await isReady(url, options.web?.probeAuthorization))
    )
      await sleep(100);
    if (!followed.exited && Date.now() < deadline) {
      const proxy = options.faults ? await startFaultProxy(port, options.faults, options.audit) : undefined;
      return {
        url: proxy?.url ?? url,
        async stop() {
          if (proxy) await proxy.stop();
          await stopProcess(child);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await stopProcess(child);
    // A port taken between choosing and binding: try another, within the deadline.
    if (Date.now() >= deadline || attempt >= 3) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(
        `prometheus (${binary}) did not become ready: ${followed.output.trim().split('\n').slice(-5).join(' | ')}`,
      );
    }
  }
}

async function startFaultProxy(
  upstreamPort: number,
  faults: Faults,
  audit?: AuditLog,
): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const target = req.url ?? '/';
    // Matched and audited without the query, as on every server (it may carry a token).
    const path = target.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    const verb = path.split('/').pop() ?? '';
    const fault = faults.take('prometheus', { method, path, verb });
    const audited = (status: number): void => {
      audit?.record({
        target: 'prometheus',
        user: 'anonymous',
        verb,
        method,
        path,
        status,
        ...(fault ? { fault: faultNote(fault) } : {}),
      });
      faults.served('prometheus', { method, path, verb }, status);
    };
    const forward = (): void => {
      if (fault?.status) {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
        res
          .writeHead(fault.status, headers)
          .end(
            JSON.stringify(fault.body ?? { status: 'error', errorType: 'internal', error: 'injected fault' }),
          );
        audited(fault.status);
        return;
      }
      const upstream = request(
        { host: '127.0.0.1', port: upstreamPort, path: target, method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          audited(answer.statusCode ?? 502);
        },
      );
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    };
    if (!fault) forward();
    else
      void applyConnectionFault(fault, req, res).then((serve) => {
        if (serve) forward();
        else audited(0);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
