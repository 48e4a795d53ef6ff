#!/usr/bin/env node
/**
 * The test app of the real-cluster e2e run (.github/workflows/e2e-kind.yml): the stand-in, on a
 * real cluster, for the sandbox's simulated workload. It honours the same env contract as
 * packages/sandbox/src/cluster/workload.ts (see that folder's README) and exposes the request
 * and latency metrics the sandbox's metrics.ts exposes, under the same names and labels, so the
 * actions' Prometheus queries read the same series on both.
 *
 * It shares no code with packages/: a test instrument must not share code with what it checks.
 * Plain Node, no dependencies.
 *
 *   node server.mjs                                   serve on $PORT (default 8080)
 *   node server.mjs load <url>... [--discover ns,ns] [--rps N] [--duration S] [--list]
 *                                                     send N requests a second to each target
 *                                                     (--list: print the targets and exit)
 *   --discover: the entry points of those namespaces, read from the Kubernetes API (the pod's
 *   service account, or $KUBERNETES_API) every 5 s, so apps the tests create get traffic.
 *
 * Serving, env (the first container's, as in the sandbox):
 *   SANDBOX_ERROR_RATE   share (0..1) of `/` answered 500
 *   SANDBOX_LATENCY_MS   mean latency of `/` (uniform ±50%)
 *   SANDBOX_READY_AFTER  `/ready` answers 503 until this long after start: 500ms, 2s, 1m (bare number = ms)
 *   SANDBOX_NEVER_READY  `true`: `/ready` always answers 503
 *   SANDBOX_CRASH        `true`: exits with code 1 at start, so the kubelet restarts it (CrashLoopBackOff)
 * (readiness shows on a real cluster only through a readinessProbe on /ready).
 * Labels of the metrics:
 *   version    $VERSION; when empty, $POD_TEMPLATE_HASH; when empty, the pod-template-hash in the
 *              pod's name. The sandbox takes the pod's `version` label, else its pod-template-hash:
 *              set both variables from those labels with the downward API (fieldRef
 *              metadata.labels['version'] and metadata.labels['pod-template-hash']) to match it.
 *   pod        $POD_NAME, else the hostname (a pod's hostname is its name)
 *   namespace  $POD_NAMESPACE, else the service account's namespace file, else `default`
 *   service    $SERVICE, else the first label of the request's Host (`web` for
 *              web.shop.svc.cluster.local): the Service the request was addressed to
 */
import console from 'node:console';
import { readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import process from 'node:process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';
import { URL } from 'node:url';

/** The sandbox's histogram buckets (metrics.ts BUCKETS), in seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

/** `500ms`, `2s`, `1m`, `1m30s`, or a bare number of milliseconds; undefined when unreadable. */
function parseDuration(text) {
  if (text === undefined || text.trim() === '') return undefined;
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(match[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2]];
    consumed += match[0].length;
  }
  return consumed === trimmed.length && consumed > 0 ? total : undefined;
}

/** A share or a duration from env: a positive finite number, else 0 (as the sandbox reads them). */
function positive(name) {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function readText(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function escapeLabel(value) {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels) {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A Deployment's pod is named `<deployment>-<pod-template-hash>-<5 chars>`. */
function templateHashOf(podName) {
  const parts = podName.split('-');
  return parts.length >= 3 ? (parts[parts.length - 2] ?? '') : '';
}

function identity() {
  const pod = process.env.POD_NAME || hostname();
  return {
    pod,
    namespace: process.env.POD_NAMESPACE || readText(`${SERVICE_ACCOUNT}/namespace`) || 'default',
    version: process.env.VERSION || process.env.POD_TEMPLATE_HASH || templateHashOf(pod) || 'unknown',
    service: process.env.SERVICE || '',
  };
}

/** The Service a request was addressed to: the first label of its Host, unless that is an address. */
function serviceOf(req, fixed) {
  if (fixed) return fixed;
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (host === '' || isIP(host) !== 0 || host === 'localhost') return 'unknown';
  return host.split('.')[0] ?? 'unknown';
}

class Metrics {
  counters = new Map();
  histograms = new Map();

  record(labels, code, seconds) {
    const counterLabels = { ...labels, code: String(code) };
    const counterKey = JSON.stringify(counterLabels);
    const counter = this.counters.get(counterKey) ?? { labels: counterLabels, value: 0 };
    counter.value += 1;
    this.counters.set(counterKey, counter);

    const histogramLabels = { namespace: labels.namespace, service: labels.service, version: labels.version };
    const histogramKey = JSON.stringify(histogramLabels);
    const histogram = this.histograms.get(histogramKey) ?? {
      labels: histogramLabels,
      counts: BUCKETS.map(() => 0),
      sum: 0,
      count: 0,
    };
    BUCKETS.forEach((le, i) => {
      if (seconds <= le) histogram.counts[i] += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
    this.histograms.set(histogramKey, histogram);
  }

  render() {
    const lines = [
      '# HELP http_requests_total Requests answered, by the Service they were addressed to and the version that answered.',
      '# TYPE http_requests_total counter',
    ];
    for (const c of this.counters.values())
      lines.push(`http_requests_total${labelText(c.labels)} ${c.value}`);
    lines.push('# HELP http_request_duration_seconds Request latency as the server saw it.');
    lines.push('# TYPE http_request_duration_seconds histogram');
    for (const h of this.histograms.values()) {
      BUCKETS.forEach((le, i) => {
        lines.push(
          `http_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(le) })} ${h.counts[i]}`,
        );
      });
      lines.push(`http_request_duration_seconds_bucket${labelText({ ...h.labels, le: '+Inf' })} ${h.count}`);
      lines.push(`http_request_duration_seconds_sum${labelText(h.labels)} ${Number(h.sum.toPrecision(12))}`);
      lines.push(`http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}

function serve() {
  if (process.env.SANDBOX_CRASH?.toLowerCase() === 'true') {
    console.error('fatal: SANDBOX_CRASH=true, exiting with code 1');
    process.exit(1);
  }
  const errorRate = Math.min(1, positive('SANDBOX_ERROR_RATE'));
  const latencyMs = positive('SANDBOX_LATENCY_MS');
  const readyAfterMs = parseDuration(process.env.SANDBOX_READY_AFTER) ?? 0;
  const neverReady = process.env.SANDBOX_NEVER_READY?.toLowerCase() === 'true';
  const startedAt = Date.now();
  const self = identity();
  const metrics = new Metrics();
  let requests = 0;

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const headers = {
      'content-type': 'application/json',
      'x-sandbox-pod': self.pod,
      'x-sandbox-version': self.version,
    };
    if (path === '/health' || path === '/healthz') {
      res.writeHead(200, headers).end(JSON.stringify({ status: 'ok' }));
      return;
    }
    if (path === '/ready' || path === '/readyz') {
      const ready = !neverReady && Date.now() - startedAt >= readyAfterMs;
      res.writeHead(ready ? 200 : 503, headers).end(JSON.stringify({ ready }));
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
      return;
    }
    requests += 1;
    const started = process.hrtime.bigint();
    // Mean latency with ±50% uniform jitter, so histograms have some spread (as the sandbox does).
    const delay = latencyMs > 0 ? latencyMs * (0.5 + Math.random()) : 0;
    setTimeout(() => {
      const failed = Math.random() < errorRate;
      const status = failed ? 500 : 200;
      const body = failed
        ? { error: 'simulated failure', version: self.version, pod: self.pod }
        : { version: self.version, pod: self.pod };
      // Recorded before answering, so a client that has its answer finds it counted.
      const labels = {
        namespace: self.namespace,
        service: serviceOf(req, self.service),
        version: self.version,
        pod: self.pod,
      };
      metrics.record(labels, status, Number(process.hrtime.bigint() - started) / 1e9);
      res.writeHead(status, headers).end(JSON.stringify(body));
      if (status >= 500 || requests % 50 === 1) console.log(`${req.method} ${path} ${status}`);
    }, delay);
  });
  server.keepAliveTimeout = 5000;
  const port = process.env.PORT ? Number(process.env.PORT) : 8080;
  server.listen(port, () => {
    console.log(`listening on :${server.address().port} (version ${self.version})`);
  });
  const stop = () => {
    server.close();
    server.closeAllConnections();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

// --- load generator ---------------------------------------------------------------------------

function parseLoadArgs(args) {
  const options = { urls: [], discover: [], rps: 10, durationS: 0, list: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = () => {
      const next = args[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--rps') options.rps = Number(value());
    else if (arg === '--duration') options.durationS = Number(value());
    else if (arg === '--discover') options.discover = value().split(',').filter(Boolean);
    else if (arg === '--list') options.list = true;
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else options.urls.push(new URL(arg).toString());
  }
  if (!Number.isFinite(options.rps) || options.rps <= 0 || options.rps > 1000)
    throw new Error(`--rps must be a number in (0, 1000], got ${options.rps}`);
  if (!Number.isFinite(options.durationS) || options.durationS < 0)
    throw new Error(`--duration must be a number of seconds >= 0, got ${options.durationS}`);
  if (options.urls.length === 0 && options.discover.length === 0)
    throw new Error('give at least one URL or --discover <namespace,...>');
  return options;
}

/** GET a path of the Kubernetes API ($KUBERNETES_API, else in-cluster with the pod's service account). */
function kubeGet(path) {
  const base = new URL(
    process.env.KUBERNETES_API ||
      `https://${process.env.KUBERNETES_SERVICE_HOST}:${process.env.KUBERNETES_SERVICE_PORT ?? 443}`,
  );
  const token = readText(`${SERVICE_ACCOUNT}/token`);
  const ca = readText(`${SERVICE_ACCOUNT}/ca.crt`);
  const send = base.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      new URL(path, base),
      {
        headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(ca ? { ca } : {}),
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          // A route kind whose CRD is not installed (404) has no objects.
          if (res.statusCode === 404) resolve({ items: [] });
          else if (res.statusCode === 200) resolve(JSON.parse(text));
          else reject(new Error(`GET ${path}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 5s`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * The entry points of a namespace, as the sandbox's load generator picks them: every Service
 * with a selector, except those that a route sends to without being the route's own entry (a
 * canary Service behind an HTTPRoute or a VirtualService only gets routed traffic).
 */
async function entryPoints(namespace) {
  const [services, virtualServices, httpRoutes] = await Promise.all([
    kubeGet(`/api/v1/namespaces/${namespace}/services`),
    kubeGet(`/apis/networking.istio.io/v1/namespaces/${namespace}/virtualservices`),
    kubeGet(`/apis/gateway.networking.k8s.io/v1/namespaces/${namespace}/httproutes`),
  ]);
  const short = (host) => host.split('.')[0];
  const entries = new Set();
  const backends = new Set();
  for (const vs of virtualServices.items ?? []) {
    for (const host of vs.spec?.hosts ?? []) entries.add(short(host));
    for (const route of vs.spec?.http ?? [])
      for (const dest of route.route ?? [])
        if (dest.destination?.host) backends.add(short(dest.destination.host));
  }
  for (const route of httpRoutes.items ?? []) {
    for (const parent of route.spec?.parentRefs ?? [])
      if (parent.kind === 'Service') entries.add(parent.name);
    for (const rule of route.spec?.rules ?? [])
      for (const ref of rule.backendRefs ?? [])
        if (!ref.kind || ref.kind === 'Service') backends.add(ref.name);
  }
  const urls = [];
  for (const svc of services.items ?? []) {
    const name = svc.metadata?.name;
    const port = svc.spec?.ports?.[0]?.port;
    if (!name || !port || !svc.spec?.selector || svc.spec.clusterIP === 'None') continue;
    if (backends.has(name) && !entries.has(name)) continue;
    urls.push(`http://${name}.${namespace}.svc.cluster.local:${port}/`);
  }
  return urls;
}

/** The given URLs and the entry points of the --discover namespaces, sorted. */
async function targetsOf(options) {
  const found = (await Promise.all(options.discover.map(entryPoints))).flat();
  return [...new Set([...options.urls, ...found])].sort();
}

function load(args) {
  const options = parseLoadArgs(args);
  if (options.list) {
    targetsOf(options).then(
      (targets) => console.log(targets.join('\n')),
      (error) => {
        console.error(`discovery: ${error.message}`);
        process.exitCode = 1;
      },
    );
    return;
  }
  const tally = new Map();
  let targets = [...options.urls];
  let shown = '';
  let inFlight = 0;
  const MAX_IN_FLIGHT = 500;

  const count = (url, outcome) => {
    const byOutcome = tally.get(url) ?? new Map();
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
    tally.set(url, byOutcome);
  };
  const send = (url) => {
    inFlight += 1;
    let done = false;
    const finish = (outcome) => {
      if (done) return;
      done = true;
      inFlight -= 1;
      count(url, outcome);
    };
    const req = httpRequest(url, { timeout: 5000 }, (res) => {
      res.on('error', () => finish('reset'));
      res.on('end', () => finish(String(res.statusCode)));
      res.resume();
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => finish(error.message === 'timeout' ? 'timeout' : (error.code ?? 'error')));
    req.end();
  };

  const discover = async () => {
    try {
      targets = await targetsOf(options);
    } catch (error) {
      // Keep the last targets: a slow API must not stop the traffic the gates measure.
      console.error(`discovery: ${error.message}`);
    }
    const now = targets.join(' ');
    if (now !== shown) console.log(`targets: ${now || '(none)'}`);
    shown = now;
  };

  const budgets = new Map();
  let last = Date.now();
  const tick = setInterval(() => {
    const now = Date.now();
    const elapsed = Math.min(1000, now - last);
    last = now;
    for (const url of targets) {
      let budget = (budgets.get(url) ?? 0) + (options.rps * elapsed) / 1000;
      while (budget >= 1 && inFlight < MAX_IN_FLIGHT) {
        budget -= 1;
        send(url);
      }
      budgets.set(url, Math.min(budget, options.rps));
    }
  }, 50);
  const report = () => {
    for (const [url, byOutcome] of tally)
      console.log(`${url} ${[...byOutcome].map(([outcome, n]) => `${outcome}=${n}`).join(' ')}`);
    tally.clear();
  };
  const reporter = setInterval(report, 10_000);
  const rediscover = options.discover.length > 0 ? setInterval(() => void discover(), 5000) : undefined;
  void discover();

  const stop = () => {
    clearInterval(tick);
    clearInterval(reporter);
    if (rediscover) clearInterval(rediscover);
    report();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (options.durationS > 0) setTimeout(stop, options.durationS * 1000);
}

const [mode, ...rest] = process.argv.slice(2);
try {
  if (mode === 'load') load(rest);
  else if (mode === undefined || mode === 'serve') serve();
  else throw new Error(`unknown mode ${mode}: use "serve" (the default) or "load <url>... [--rps N]"`);
} catch (error) {
  console.error(`server.mjs: ${error.message}`);
  process.exit(2);
}
