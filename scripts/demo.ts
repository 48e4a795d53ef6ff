/**
 * `npm run demo`: the bundled actions run as a pipeline would, against the sandbox with the
 * real Prometheus: Slack notice → deploy v1 → deploy v2 → health gate on v2's success rate →
 * deploy v3 whose pods crash (caught, rolled back) → Slack notice updated → manual rollback to
 * v1 → canary v4 behind an Istio VirtualService, 5 → 25 → 50 → 100%, promoted → Slack notice
 * with its report → canary v5 answering 20% errors, aborted at 5% by the comparison with the
 * stable → Slack notice with its report, with a readable timeline, each step's job summary and,
 * for the canaries, what the sandbox saw: the traffic each version served and where it goes now.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runAction, type ActionResult } from '../packages/sandbox/src/harness.js';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/sandbox.js';
import { imageOf, kind, live, readyPodImages } from '../test/e2e/fixtures.js';

const root = resolve(import.meta.dirname, '..');
const bold = (s: string): string => `\x1b[1m${s}\x1b[0m`;
const dim = (s: string): string => `\x1b[2m${s}\x1b[0m`;
const started = Date.now();
const clock = (): string => `+${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;

const NAMESPACE = 'shop';
const IMAGE = (version: string): string => `ghcr.io/acme/shop:${version}`;

/** The app's Deployment alone: what canary-step takes as the new version. */
function deploymentManifest(version: string, env: Record<string, string> = {}): string {
  const envLines = Object.entries(env)
    .map(([k, v]) => `            - { name: ${k}, value: "${v}" }`)
    .join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: shop, labels: { app: shop } }
spec:
  replicas: 3
  selector: { matchLabels: { app: shop } }
  strategy: { type: RollingUpdate, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }
  template:
    metadata: { labels: { app: shop, version: "${version}" } }
    spec:
      containers:
        - name: shop
          image: ${IMAGE(version)}
          ports: [{ containerPort: 8080 }]
${envLines ? `          env:\n${envLines}\n` : ''}`;
}

/** The Deployment and its Service: what deploy-rolling applies. */
function manifest(version: string, env: Record<string, string> = {}): string {
  return `${deploymentManifest(version, env)}---
apiVersion: v1
kind: Service
metadata: { name: shop }
spec:
  selector: { app: shop }
  ports: [{ port: 80, targetPort: 8080 }]
`;
}

interface Step {
  title: string;
  action: string;
  inputs: Record<string, string>;
  files?: Record<string, string>;
  expectFailure?: boolean;
  /** Outputs of earlier steps this step takes as inputs, as `${{ steps.x.outputs.y }}` would give them. */
  from?: Record<string, [step: string, output: string]>;
  id?: string;
}

async function main(): Promise<void> {
  for (const name of ['deploy-rolling', 'rollback', 'health-gate', 'notify-slack']) {
    if (!existsSync(join(root, 'dist', name, 'index.js')))
      throw new Error(`dist/${name} is missing: run npm run build`);
  }
  console.log(
    bold(
      'cd-actions demo: starting the sandbox (Kubernetes API, workloads, traffic, real Prometheus, Slack, GitHub)',
    ),
  );
  const sandbox = await startSandbox({ prometheus: true, rps: 20, namespaces: ['shop'] });
  console.log(
    dim(
      `  API server ${sandbox.apiServer}, Prometheus ${sandbox.prometheus}, kubeconfig ${sandbox.kubeconfig}`,
    ),
  );
  const kubeconfig = sandbox.api.kubeconfig();
  const env = { GITHUB_API_URL: sandbox.github.url, SLACK_API_URL: `${sandbox.slack.url}/api` };
  const slack = {
    token: sandbox.slack.token,
    channel: sandbox.slack.channels.deploys!,
    environment: 'staging',
    app: 'shop',
  };
  const common = {
    kubeconfig,
    namespace: 'shop',
    environment: 'staging',
    'github-token': sandbox.github.token,
    app: 'shop',
  };
  const steps: Step[] = [
    {
      title: 'Slack: deploy started',
      id: 'notice',
      action: 'notify-slack',
      inputs: { ...slack, status: 'started', version: '3.0.0' },
    },
    {
      title: 'push to main: deploy v1',
      action: 'deploy-rolling',
      inputs: { ...common, manifests: 'k8s/*.yaml' },
      files: { 'k8s/shop.yaml': manifest('1.0.0') },
    },
    {
      title: 'push to main: deploy v2 (healthy)',
      action: 'deploy-rolling',
      inputs: { ...common, manifests: 'k8s/*.yaml' },
      files: { 'k8s/shop.yaml': manifest('2.0.0') },
    },
    {
      title: 'health gate: v2 success rate and pods, from the real Prometheus',
      action: 'health-gate',
      inputs: {
        kubeconfig,
        namespace: 'shop',
        'prometheus-url': sandbox.prometheus!,
        duration: '6s',
        interval: '2s',
        window: '10s',
        checks: [
          '- kind: prometheus',
          '  template: success-rate',
          '  service: shop',
          '  version: "2.0.0"',
          '  condition: ">= 0.99"',
          '- kind: pods',
          '  deployment: shop',
        ].join('\n'),
      },
    },
    {
      title: 'push to main: deploy v3 (its pods crash)',
      action: 'deploy-rolling',
      inputs: { ...common, manifests: 'k8s/*.yaml', timeout: '5m' },
      files: { 'k8s/shop.yaml': manifest('3.0.0', { SANDBOX_CRASH: 'true' }) },
      expectFailure: true,
    },
    {
      title: 'Slack: the same message, updated to rolled-back',
      action: 'notify-slack',
      inputs: { ...slack, status: 'rolled-back', version: '3.0.0', text: 'v3 crash-looped; v2 serves again' },
      from: { 'update-ts': ['notice', 'ts'] },
    },
    {
      title: 'workflow_dispatch: manual rollback to v1',
      action: 'rollback',
      inputs: {
        kubeconfig,
        namespace: 'shop',
        app: 'shop',
        'to-revision': '1',
        reason: 'demo: back to the first release',
      },
    },
  ];
  let ok = true;
  const outputs = new Map<string, Record<string, string>>();
  try {
    for (const step of steps) {
      console.log(`\n${bold(`${clock()}  ▶ ${step.title}`)}  ${dim(`(dist/${step.action}/index.js)`)}`);
      const cwd = await mkdtemp(join(tmpdir(), 'demo-'));
      for (const [file, text] of Object.entries(step.files ?? {})) {
        await import('node:fs/promises').then((fs) => fs.mkdir(join(cwd, file, '..'), { recursive: true }));
        await writeFile(join(cwd, file), text);
      }
      const inputs = { ...step.inputs };
      for (const [input, [id, output]] of Object.entries(step.from ?? {}))
        inputs[input] = outputs.get(id)?.[output] ?? '';
      const result: ActionResult = await runAction({
        action: step.action,
        inputs,
        env,
        cwd,
        timeoutMs: 120_000,
      });
      if (step.id) outputs.set(step.id, result.outputs);
      for (const line of result.log.split('\n').filter((l) => l && !l.startsWith('::')))
        console.log(dim(`           ${line}`));
      for (const error of result.errors) console.log(`           ✖ ${error}`);
      const verdict = result.exitCode === 0 ? '✔ succeeded' : '✖ failed (exit 1)';
      console.log(bold(`${clock()}  ${verdict}`), dim(`outputs ${JSON.stringify(result.outputs)}`));
      console.log(dim('  ── job summary ──'));
      console.log(result.summary.replace(/^/gm, '  '));
      if ((result.exitCode === 0) === Boolean(step.expectFailure)) ok = false;
    }
    const deployments = sandbox.github.deployments.map(
      (d) => `${d.environment}#${d.id}: ${d.statuses.map((s) => s.state).join(' → ')}`,
    );
    console.log(bold('\nGitHub deployments recorded by the stand-in:'));
    for (const line of deployments) console.log(`  ${line}`);
    console.log(bold('Slack messages the stand-in holds now (after updates):'));
    for (const m of sandbox.slack.messages.filter((x) => x.method !== 'chat.update')) {
      console.log(`  ${m.channel} ${m.ts}: ${sandbox.slack.message(m.channel, m.ts)?.text ?? ''}`);
    }
  } finally {
    await sandbox.stop();
  }
  console.log(
    bold(ok ? '\ndemo finished: every step did what it should' : '\ndemo finished with unexpected results'),
  );
  process.exit(ok ? 0 : 1);
}

await main();
