/**
 * The whole sandbox in one call: store, API server, simulated cluster (controllers, workloads,
 * traffic, metrics), optionally the real Prometheus, and the Slack and GitHub stand-ins. A test
 * instrument: it reports what happened and never judges an action.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer, type TokenSpec } from './api/server.js';
import { startCluster, type Cluster, type ClusterTimings } from './cluster/index.js';
import { startPrometheus, type RunningPrometheus } from './cluster/prometheus.js';
import { AuditLog, Faults } from './faults.js';
import { RESOURCE_TYPES } from './resources.js';
import { startGitHub, type GitHubStandIn } from './standins/github.js';
import { startSlack, type SlackStandIn } from './standins/slack.js';
import { Store } from './store.js';

export interface SandboxOptions {
  /** Start the real Prometheus scraping the sandbox every second. */
  prometheus?: boolean;
  /** Load generator requests per second per Service; 0 disables. */
  rps?: number;
  timings?: ClusterTimings;
  /** Namespaces created at start (besides default). */
  namespaces?: string[];
  /** Where to write the admin kubeconfig; a temp file otherwise. */
  kubeconfigPath?: string;
  /** GitHub repository the stand-in serves (owner/repo). */
  repository?: string;
}

export interface Sandbox {
  /** Path of the admin kubeconfig file. */
  kubeconfig: string;
  apiServer: string;
  prometheus?: string;
  slack: SlackStandIn;
  github: GitHubStandIn;
  store: Store;
  faults: Faults;
  audit: AuditLog;
  api: ApiServer;
  cluster: Cluster;
  /** A kubeconfig (YAML) for a token limited as `spec` says; the token must exist (see addToken). */
  kubeconfigFor(spec: TokenSpec & { namespace?: string }): string;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const store = new Store();
  const faults = new Faults();
  const audit = new AuditLog();
  const namespaceType = RESOURCE_TYPES.find((t) => t.kind === 'Namespace')!;
  for (const name of ['default', 'kube-system', ...(options.namespaces ?? [])]) {
    store.create(namespaceType, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const stops: (() => Promise<void>)[] = [];
  try {
    const cluster = await startCluster({ store, faults, timings: options.timings, rps: options.rps });
    stops.push(() => cluster.stop());
    const api = await startApiServer({ store, faults, audit, hooks: cluster });
    stops.push(() => api.stop());
    const [slack, github] = await Promise.all([
      startSlack({ faults, audit }),
      startGitHub({ faults, audit, repository: options.repository ?? 'acme/shop' }),
    ]);
    stops.push(
      () => slack.stop(),
      () => github.stop(),
    );
    let prometheus: RunningPrometheus | undefined;
    if (options.prometheus) {
      prometheus = await startPrometheus({
        targets: [new URL(cluster.metricsUrl).host],
        scrapeIntervalSeconds: 1,
        faults,
        audit,
      });
      stops.push(() => prometheus!.stop());
    }
    let dir: string | undefined;
    let kubeconfig = options.kubeconfigPath;
    if (!kubeconfig) {
      dir = await mkdtemp(join(tmpdir(), 'sandbox-'));
      kubeconfig = join(dir, 'kubeconfig');
    }
    await writeFile(kubeconfig, api.kubeconfig(), { mode: 0o600 });
    await chmod(kubeconfig, 0o600);
    if (dir) stops.push(() => rm(dir, { recursive: true, force: true }));
    let stopped = false;
    return {
      kubeconfig,
      apiServer: api.url,
      ...(prometheus ? { prometheus: prometheus.url } : {}),
      slack,
      github,
      store,
      faults,
      audit,
      api,
      cluster,
      kubeconfigFor(spec) {
        const token = api.addToken(spec);
        return api.kubeconfig({ token, ...(spec.namespace ? { namespace: spec.namespace } : {}) });
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
      },
    };
  } catch (error) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw error;
  }
}
