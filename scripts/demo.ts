/**
 * `npm run demo`: the bundled actions run as a pipeline would, against the sandbox with the
 * real Prometheus: Slack notice → deploy v1 → deploy v2 → health gate on v2's success rate →
 * deploy v3 whose pods crash (caught, rolled back) → Slack notice updated → manual rollback to
 * v1 → canary v4 behind an Istio VirtualService, 5 → 25 → 50 → 100%, promoted → Slack notice
 * with its report → canary v5 answering 20% errors, aborted at 5% by the comparison with the
 * stable → Slack notice with its report (and each canary's notice by e-mail, through a real Postfix
 * when it is installed) → the example pipeline (workflows-examples/, its deploy
 * workflow for dev run step by step by the workflow evaluator of test/workflows/evaluator.ts, set
 * up as its e2e test sets it up): a healthy release, then a broken one its gate catches and its
 * rollback step puts back. With a readable timeline, each step's job summary and, for the canaries
 * and the example, what the sandbox saw: the traffic each version served and where it goes now,
 * the example's Deployment and its Slack notice.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runAction, type ActionResult } from '../packages/sandbox/src/harness.js';
import { startMailServer, type MailServer } from '../packages/sandbox/src/mail/postfix.js';
import { startSandbox, type Sandbox } from '../packages/sandbox/src/sandbox.js';
import type { KubeObject } from '../packages/sandbox/src/store.js';
import { imageOf, kind, live, readyPodImages } from '../test/e2e/fixtures.js';
import type { JobRun } from '../test/workflows/evaluator.js';
import {
  EXAMPLE_ENVIRONMENT,
  EXAMPLE_IMAGES,
  EXAMPLE_SLACK_CHANNEL,
  exampleTarget,
  prepareExample,
  releaseExample,
  type Example,
} from '../test/workflows/example-release.js';

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

/** Something the demo reads after a step, from its outputs or the sandbox; one that does not hold fails the demo. */
interface Fact {
  text: string;
  holds: boolean;
}
const fact = (text: string, holds: boolean): Fact => ({ text, holds });

interface Step {
  title: string;
  action: string;
  inputs: Record<string, string>;
  files?: Record<string, string>;
  expectFailure?: boolean;
  /** Outputs of earlier steps this step takes as inputs, as `${{ steps.x.outputs.y }}` would give them. */
  from?: Record<string, [step: string, output: string]>;
  id?: string;
  /** Steps naming the same workspace share one directory, as the steps of one job do (a report file). */
  workspace?: string;
  /** What happens around the pipeline just before the step (the platform team's mesh route...). */
  before?: () => void;
  /** What the step left behind, printed after it. */
  facts?: (result: ActionResult) => Fact[] | Promise<Fact[]>;
  timeoutMs?: number;
}

type HttpRoute = {
  name?: string;
  match?: unknown;
  route: { destination: { host: string }; weight?: number }[];
};

/** The mesh route the platform team keeps for shop: every request to host shop goes to the Service shop. */
function seedVirtualService(sandbox: Sandbox): void {
  if (live(sandbox, 'VirtualService', NAMESPACE, 'shop')) return;
  sandbox.store.create(kind('VirtualService'), {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'shop', namespace: NAMESPACE },
    spec: { hosts: ['shop'], http: [{ route: [{ destination: { host: 'shop' }, weight: 100 }] }] },
  });
  console.log(dim('           (the mesh: VirtualService shop in the store, host shop → Service shop 100%)'));
}

/** Where requests to shop go now, as the VirtualService in the store says. */
function routeNow(sandbox: Sandbox): Fact {
  const http = (
    live(sandbox, 'VirtualService', NAMESPACE, 'shop')?.spec as { http?: HttpRoute[] } | undefined
  )?.http;
  const rules = (http ?? []).map(
    (rule) =>
      `${rule.name ?? (rule.match ? '' : 'default route')}${rule.match ? ` ${JSON.stringify(rule.match)}` : ''} → ${rule.route
        .map((d) => `${d.destination.host} ${d.weight ?? 100}%`)
        .join(', ')}`,
  );
  // A single rule without a match, every share on the stable Service: the canary and its header route are gone.
  const allOnStable =
    http?.length === 1 &&
    !http[0]!.match &&
    http[0]!.route.every((d) => (d.weight ?? 100) === (d.destination.host === 'shop' ? 100 : 0));
  return fact(`traffic now (VirtualService shop in the store): ${rules.join(' | ')}`, allOnStable);
}

/** The stable Deployment and its ready pods, and the canary Deployment, as the store holds them. */
function deploymentsNow(
  sandbox: Sandbox,
  stableVersion: string,
  canaryGone: 'removed' | 'scaled to 0',
): Fact {
  const stableImage = imageOf(live(sandbox, 'Deployment', NAMESPACE, 'shop'));
  const pods = readyPodImages(sandbox, NAMESPACE, 'shop');
  const canary = live(sandbox, 'Deployment', NAMESPACE, 'shop-canary') as
    (KubeObject & { spec: { replicas?: number } }) | undefined;
  const canaryState = canary ? `shop-canary at ${canary.spec.replicas ?? 1} replicas` : 'shop-canary removed';
  const canaryAsExpected = canaryGone === 'removed' ? !canary : canary?.spec.replicas === 0;
  return fact(
    `Deployment shop runs ${stableImage ?? 'nothing'} (ready pods: ${pods.join(', ') || 'none'}); ${canaryState}`,
    stableImage === IMAGE(stableVersion) &&
      pods.length === 3 &&
      pods.every((image) => image === IMAGE(stableVersion)) &&
      canaryAsExpected,
  );
}

/** Requests the load generator sent since the canary started, by who answered them. */
function servedDuringCanary(sandbox: Sandbox): {
  text: string;
  canary: number;
  canaryErrors: number;
  stableErrors: number;
} {
  const sum = (
    stats: Record<string, { requests: number; errors: number }>,
    pick: (version: string) => boolean,
  ) =>
    Object.entries(stats)
      .filter(([version]) => pick(version))
      .reduce((n, [, s]) => ({ requests: n.requests + s.requests, errors: n.errors + s.errors }), {
        requests: 0,
        errors: 0,
      });
  const all = [
    sandbox.cluster.traffic.stats(NAMESPACE, 'shop'),
    sandbox.cluster.traffic.stats(NAMESPACE, 'shop-canary'),
  ];
  const canary = sum(all[1]!, (v) => v === 'canary');
  const stable = sum(all[0]!, (v) => v !== 'canary' && v !== 'none');
  const unserved = all.reduce((n, stats) => n + (stats.none?.requests ?? 0), 0);
  const total = canary.requests + stable.requests + unserved;
  const share = total ? ((100 * canary.requests) / total).toFixed(1) : '0';
  return {
    text:
      `the canary answered ${canary.requests} of ${total} requests (${share}%, header route included), ` +
      `${canary.errors} failed; the stable answered ${stable.requests}, ${stable.errors} failed; ${unserved} found nothing ready`,
    canary: canary.requests,
    canaryErrors: canary.errors,
    stableErrors: stable.errors,
  };
}

/**
 * The steps the canary's report records, each with its gate verdict and the share of the traffic
 * the canary answered once the weight was written; holds when the verdicts are `expected`.
 */
async function reportedSteps(result: ActionResult, expected: string): Promise<Fact> {
  const report = JSON.parse(await readFile(result.outputs.report ?? '', 'utf8').catch(() => '{}')) as {
    steps?: { weight: number; verdict?: string; observed?: number }[];
  };
  const steps = report.steps ?? [];
  const verdicts = steps.map((s) => `${s.weight}% ${s.verdict ?? 'not judged'}`).join(' → ');
  const observed = steps.map(
    (s) =>
      `${s.weight}% ${s.verdict ?? 'not judged'} (${s.observed === undefined ? 'split not confirmed' : `canary answered ${s.observed}%`})`,
  );
  return fact(
    `steps in the report (${result.outputs.report}): ${observed.join(' → ')}`,
    verdicts === expected,
  );
}

/** The text of a Slack message's blocks and attachments, one line per text element. */
function blockText(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(blockText);
  if (typeof value !== 'object' || value === null) return [];
  const { text, ...rest } = value as Record<string, unknown>;
  return [
    ...(typeof text === 'string' ? [text] : blockText(text)),
    ...Object.values(rest).flatMap(blockText),
  ];
}

/** The inputs and outputs that tell what a step of the example did, by action. */
const KEY_INPUTS: Record<string, string[]> = { 'notify-slack': ['status'], rollback: ['reason'] };
const KEY_OUTPUTS: Record<string, string[]> = {
  'notify-slack': ['ok', 'ts'],
  'deploy-rolling': ['previous-revision', 'revision', 'rolled-back', 'images'],
  'health-gate': ['verdict', 'failed-checks', 'duration'],
  rollback: ['from-revision', 'to-revision', 'images'],
};

/** One line per step of the run: ran or not (and why), its outcome, what it was given and left. */
function printJob(run: JobRun): void {
  const width = Math.max(...run.steps.map((step) => step.label.length));
  for (const step of run.steps) {
    const pick = (names: string[] | undefined, values: Readonly<Record<string, string>>): string[] =>
      (names ?? []).flatMap((name) => (values[name] ? [`${name} ${values[name]}`] : []));
    const details = step.action
      ? [...pick(KEY_INPUTS[step.action], step.inputs), ...pick(KEY_OUTPUTS[step.action], step.outputs)]
      : [];
    const what: string =
      step.outcome === 'skipped'
        ? `skipped (${step.notRun ?? 'if: false'})`
        : step.notRun
          ? `not run here (${step.notRun})`
          : `ran → ${step.outcome === 'success' ? '✔' : '✖'} ${step.outcome}`;
    console.log(
      `           ${step.label.padEnd(width)}  ${what}${details.length ? dim(`  ${details.join(', ')}`) : ''}`,
    );
    if (step.outcome === 'failure')
      for (const error of step.result?.errors ?? [])
        console.log(`           ${' '.repeat(width)}  ✖ ${error}`);
  }
}

/** The example's Deployment and its ready pods, as the store holds them; holds when they all run `image`. */
function exampleDeploymentNow(example: Example, image: string): Fact {
  const now = imageOf(live(example.sandbox, 'Deployment', example.namespace, example.app));
  const pods = readyPodImages(example.sandbox, example.namespace, example.app);
  return fact(
    `Deployment ${example.app} (${example.namespace}) runs ${now ?? 'nothing'} (ready pods: ${pods.join(', ') || 'none'})`,
    now === image && pods.length > 0 && pods.every((pod) => pod === image),
  );
}

/** The notice the started step posted, as the closing step left it; holds when it was updated to `status`. */
function exampleNoticeNow(example: Example, run: JobRun, status: string): Fact {
  const ts = run.step('notice').outputs.ts ?? '';
  const message = example.sandbox.slack.message(EXAMPLE_SLACK_CHANNEL, ts);
  const lines = blockText([message?.blocks, message?.attachments])
    .flatMap((text) => text.split('\n'))
    .filter(Boolean);
  const closing = run.steps.find((step) => step.label === 'Slack notice (result)');
  return fact(
    `the Slack notice in ${EXAMPLE_SLACK_CHANNEL} (ts ${ts || 'none'}), updated by the closing step:\n` +
      lines.map((line) => `               ${line}`).join('\n'),
    message?.method === 'chat.update' && closing?.inputs.status === status,
  );
}

/**
 * The example pipeline: workflows-examples/.github/workflows/deploy.yml for dev, its steps run
 * in order by the workflow evaluator, a healthy release and then a broken one. Returns whether
 * every release ended as it should.
 */
async function examplePipeline(sandbox: Sandbox): Promise<boolean> {
  console.log(
    bold(
      `\n${clock()}  the example pipeline: workflows-examples/.github/workflows/deploy.yml, ${EXAMPLE_ENVIRONMENT}`,
    ),
  );
  console.log(
    dim(
      '           (test/workflows/evaluator.ts runs the job: our bundles, with `with:`, `if:` and step outputs as the runner evaluates them)',
    ),
  );
  const example = await prepareExample(sandbox);
  const releases = [
    {
      title: `release ${EXAMPLE_IMAGES.healthy} (healthy)`,
      image: EXAMPLE_IMAGES.healthy,
      job: 'success',
      facts: (run: JobRun): Fact[] => [
        fact(
          `gate verdict ${run.step('gate').outputs.verdict}; rollback ${run.step('rollback').outcome}`,
          run.step('gate').outputs.verdict === 'pass' && run.step('rollback').outcome === 'skipped',
        ),
        exampleDeploymentNow(example, EXAMPLE_IMAGES.healthy),
        exampleNoticeNow(example, run, 'success'),
      ],
    },
    {
      title: `release ${EXAMPLE_IMAGES.broken} (its home page answers 500): caught by the gate, put back by the rollback step`,
      image: EXAMPLE_IMAGES.broken,
      job: 'failure',
      facts: (run: JobRun): Fact[] => [
        fact(
          `gate verdict ${run.step('gate').outputs.verdict} (failed: ${run.step('gate').outputs['failed-checks'] ?? 'none'}); rollback ${run.step('rollback').outcome}`,
          run.step('gate').outputs.verdict === 'fail' && run.step('rollback').outcome === 'success',
        ),
        exampleDeploymentNow(example, EXAMPLE_IMAGES.healthy),
        exampleNoticeNow(example, run, 'rolled-back'),
      ],
    },
  ];
  let ok = true;
  try {
    for (const release of releases) {
      console.log(`\n${bold(`${clock()}  ▶ ${release.title}`)}`);
      const run = await releaseExample(example, release.image);
      printJob(run);
      console.log(bold(`${clock()}  ${run.status === 'success' ? '✔' : '✖'} job ${run.status}`));
      if (run.status !== release.job) ok = false;
      console.log(bold('  ── what the sandbox shows ──'));
      for (const { text, holds } of release.facts(run)) {
        console.log(`  ${holds ? '✔' : '✖'} ${text}`);
        if (!holds) ok = false;
      }
    }
  } finally {
    await example.stop();
  }
  return ok;
}

async function main(): Promise<void> {
  for (const name of [
    'deploy-rolling',
    'rollback',
    'health-gate',
    'notify-slack',
    'notify-email',
    'canary-step',
  ]) {
    if (!existsSync(join(root, 'dist', name, 'index.js')))
      throw new Error(`dist/${name} is missing: run npm run build`);
  }
  console.log(
    bold(
      'cd-actions demo: starting the sandbox (Kubernetes API, workloads, traffic, real Prometheus, Slack, GitHub)',
    ),
  );
  // 100 requests a second: enough for canary-step to confirm a 5% split within seconds.
  // The example pipeline deploys to its own namespace (web-dev), as its .github/deploy.yml says.
  const sandbox = await startSandbox({
    prometheus: true,
    rps: 100,
    namespaces: [NAMESPACE, exampleTarget().namespace],
  });
  console.log(
    dim(
      `  API server ${sandbox.apiServer}, Prometheus ${sandbox.prometheus}, kubeconfig ${sandbox.kubeconfig}`,
    ),
  );
  const kubeconfig = sandbox.api.kubeconfig();
  // The e-mail notices go through a real Postfix (STARTTLS, login, a maildir) when it is installed
  // (scripts/setup.sh installs it); without it the demo says so and sends Slack's notices only.
  const mail: MailServer | undefined = await startMailServer({ mailboxes: ['release'] }).catch(
    (err: unknown) => {
      console.log(dim(`  e-mail notices skipped: ${err instanceof Error ? err.message : String(err)}`));
      return undefined;
    },
  );
  if (mail)
    console.log(
      dim(`  mail server (Postfix) STARTTLS on 127.0.0.1:${mail.starttlsPort}, maildir per mailbox`),
    );
  const env = {
    GITHUB_API_URL: sandbox.github.url,
    SLACK_API_URL: `${sandbox.slack.url}/api`,
    // The runner's trust for the mail server's private CA, as a team with its own relay would set it.
    ...(mail ? { NODE_EXTRA_CA_CERTS: mail.caFile } : {}),
  };
  const slack = {
    token: sandbox.slack.token,
    channel: sandbox.slack.channels.deploys!,
    environment: 'staging',
    app: 'shop',
  };
  const common = {
    kubeconfig,
    namespace: NAMESPACE,
    environment: 'staging',
    'github-token': sandbox.github.token,
    app: 'shop',
  };
  const canary = {
    ...common,
    manifests: 'k8s/shop.yaml',
    route: 'istio',
    steps: '5,25,50,100',
    'header-route': 'canary=true',
    'prometheus-url': sandbox.prometheus!,
    'step-duration': '8s',
    'check-interval': '1s',
    'analysis-window': '10s',
    'scale-down-delay': '2s',
    timeout: '1m',
    'report-path': 'canary-report.json',
  };
  const canaryOutputs = (o: Record<string, string>): string =>
    `outputs: phase ${o.phase}, weight ${o.weight}, verdict ${o.verdict}${o['failed-phase'] ? `, failed-phase ${o['failed-phase']}` : ''}`;
  /** The message as the Slack stand-in holds it; holds when it carries the canary's report (`summary`). */
  const slackWithReport =
    (summary: string) =>
    (result: ActionResult): Fact[] => {
      const message = sandbox.slack.message(result.outputs['channel-id'] ?? '', result.outputs.ts ?? '');
      const lines = blockText([message?.blocks, message?.attachments])
        .flatMap((text) => text.split('\n'))
        .filter(Boolean);
      return [
        fact(
          `Slack holds the message with the canary report:\n${lines.map((l) => `               ${l}`).join('\n')}`,
          result.outputs.ok === 'true' && lines.some((l) => l.includes(summary)),
        ),
      ];
    };
  /** The canary's notice by e-mail, to release@example.test, with the same report as Slack's. */
  const emailNotice = (
    title: string,
    workspace: string,
    inputs: Record<string, string>,
    summary: string,
  ): Step[] =>
    mail
      ? [
          {
            title,
            action: 'notify-email',
            workspace,
            inputs: {
              server: '127.0.0.1',
              port: String(mail.starttlsPort),
              username: mail.user,
              password: mail.password,
              from: 'Deploy Bot <deploys@example.test>',
              to: 'Release Managers <release@example.test>',
              environment: 'staging',
              app: 'shop',
              strategy: 'canary',
              report: 'canary-report.json',
              ...inputs,
            },
            facts: async (result) => {
              const delivered = await mail.waitForMessage('release', result.outputs['message-id'] ?? '');
              const text = delivered?.parts.find((p) => p.type === 'text/plain')?.body ?? '';
              const parts = delivered?.parts.map((p) => p.type).join(' + ') ?? 'nothing';
              return [
                fact(
                  `release@example.test's maildir holds "${delivered?.header('subject') ?? '(no message)'}" (${parts}):\n` +
                    text
                      .split('\n')
                      .filter(Boolean)
                      .map((line) => `               ${line}`)
                      .join('\n'),
                  result.outputs.ok === 'true' &&
                    parts === 'text/plain + text/html' &&
                    text.includes(summary),
                ),
              ];
            },
          },
        ]
      : [];
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
        namespace: NAMESPACE,
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
        namespace: NAMESPACE,
        app: 'shop',
        'to-revision': '1',
        reason: 'demo: back to the first release',
      },
    },
    {
      title:
        'canary v4 behind the Istio VirtualService: 5 → 25 → 50 → 100%, judged against the stable, promoted',
      action: 'canary-step',
      workspace: 'canary-v4',
      inputs: canary,
      files: { 'k8s/shop.yaml': deploymentManifest('4.0.0') },
      timeoutMs: 180_000,
      before: () => {
        seedVirtualService(sandbox);
        sandbox.cluster.traffic.reset();
      },
      facts: async (result) => {
        const o = result.outputs;
        const traffic = servedDuringCanary(sandbox);
        return [
          fact(canaryOutputs(o), o.phase === 'promoted' && o.weight === '0' && o.verdict === 'pass'),
          fact(`observed split (output): ${o['observed-split'] ?? ''}`, Boolean(o['observed-split'])),
          await reportedSteps(result, '5% pass → 25% pass → 50% pass → 100% pass'),
          fact(
            `the sandbox's load generator: ${traffic.text}`,
            traffic.canary > 0 && traffic.stableErrors === 0,
          ),
          routeNow(sandbox),
          deploymentsNow(sandbox, '4.0.0', 'removed'),
        ];
      },
    },
    {
      title: 'Slack: canary v4 promoted, with its report',
      action: 'notify-slack',
      workspace: 'canary-v4',
      inputs: {
        ...slack,
        status: 'success',
        strategy: 'canary',
        version: '4.0.0',
        report: 'canary-report.json',
      },
      facts: slackWithReport('Canary promoted: 5% ✓ · 25% ✓ · 50% ✓ · 100% ✓'),
    },
    ...emailNotice(
      'E-mail: canary v4 promoted, with its report (Postfix, STARTTLS and login)',
      'canary-v4',
      { status: 'success', version: '4.0.0' },
      'Canary promoted: 5% ✓ · 25% ✓ · 50% ✓ · 100% ✓',
    ),
    {
      title: 'canary v5 (answers 20% errors): aborted at 5% by the comparison with the stable',
      action: 'canary-step',
      workspace: 'canary-v5',
      // A long step: the gate ends at its first failing sample, not at the end of the step.
      inputs: { ...canary, 'step-duration': '30s' },
      files: { 'k8s/shop.yaml': deploymentManifest('5.0.0', { SANDBOX_ERROR_RATE: '0.2' }) },
      expectFailure: true,
      timeoutMs: 180_000,
      before: () => sandbox.cluster.traffic.reset(),
      facts: async (result) => {
        const o = result.outputs;
        const traffic = servedDuringCanary(sandbox);
        return [
          fact(
            canaryOutputs(o),
            o.phase === 'aborted' &&
              o.weight === '0' &&
              o.verdict === 'fail' &&
              o['failed-phase'] === 'step 5',
          ),
          fact(`observed split (output): ${o['observed-split'] ?? ''}`, Boolean(o['observed-split'])),
          await reportedSteps(result, '5% fail'),
          fact(
            `failed requests the canary served: ${traffic.canaryErrors} (${traffic.text})`,
            traffic.canaryErrors > 0 && traffic.stableErrors === 0,
          ),
          routeNow(sandbox),
          deploymentsNow(sandbox, '4.0.0', 'scaled to 0'),
        ];
      },
    },
    {
      title: 'Slack: canary v5 rolled back, with its report',
      action: 'notify-slack',
      workspace: 'canary-v5',
      inputs: {
        ...slack,
        status: 'rolled-back',
        strategy: 'canary',
        version: '5.0.0',
        text: 'v5 failed its comparison with v4 at 5%; v4 serves everything',
        report: 'canary-report.json',
      },
      facts: slackWithReport('Canary aborted at 5%: 5% ✗ fail'),
    },
    ...emailNotice(
      'E-mail: canary v5 rolled back, with its report',
      'canary-v5',
      {
        status: 'rolled-back',
        version: '5.0.0',
        text: 'v5 failed its comparison with v4 at 5%; v4 serves everything',
      },
      'Canary aborted at 5%: 5% ✗ fail',
    ),
  ];
  let ok = true;
  const outputs = new Map<string, Record<string, string>>();
  const workspaces = new Map<string, string>();
  try {
    for (const step of steps) {
      console.log(`\n${bold(`${clock()}  ▶ ${step.title}`)}  ${dim(`(dist/${step.action}/index.js)`)}`);
      const cwd =
        (step.workspace && workspaces.get(step.workspace)) || (await mkdtemp(join(tmpdir(), 'demo-')));
      if (step.workspace) workspaces.set(step.workspace, cwd);
      for (const [file, text] of Object.entries(step.files ?? {})) {
        await import('node:fs/promises').then((fs) => fs.mkdir(join(cwd, file, '..'), { recursive: true }));
        await writeFile(join(cwd, file), text);
      }
      const inputs = { ...step.inputs };
      for (const [input, [id, output]] of Object.entries(step.from ?? {}))
        inputs[input] = outputs.get(id)?.[output] ?? '';
      step.before?.();
      const result: ActionResult = await runAction({
        action: step.action,
        inputs,
        env,
        cwd,
        timeoutMs: step.timeoutMs ?? 120_000,
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
      const facts = (await step.facts?.(result)) ?? [];
      if (facts.length > 0) console.log(bold('  ── what the sandbox shows ──'));
      for (const { text, holds } of facts) {
        console.log(`  ${holds ? '✔' : '✖'} ${text}`);
        if (!holds) ok = false;
      }
    }
    if (!(await examplePipeline(sandbox))) ok = false;
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
    await mail?.stop();
    await sandbox.stop();
  }
  console.log(
    bold(ok ? '\ndemo finished: every step did what it should' : '\ndemo finished with unexpected results'),
  );
  process.exit(ok ? 0 : 1);
}

await main();
