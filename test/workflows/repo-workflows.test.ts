/**
 * The repository's own workflows (.github/workflows): CI is `.ci/run` and nothing else, a
 * release moves the major tag of the pushed tag (run here against a scratch origin), and the
 * kind run's image, Prometheus config and manifests agree with each other and with the tests.
 * actionlint checks each file on its own (`npm run lint:workflows`); this checks across files.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';

const root = resolve(import.meta.dirname, '../..');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  'timeout-minutes'?: number;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface WorkflowFile {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: unknown;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata?: { name?: string };
  spec?: { template?: { spec?: { containers?: { image: string; args?: string[] }[] } } };
}

function workflow(name: string): WorkflowFile {
  return parse(readFileSync(join(root, '.github', 'workflows', name), 'utf8')) as WorkflowFile;
}

const steps = (w: WorkflowFile): Step[] => Object.values(w.jobs).flatMap((job) => job.steps);
const WORKFLOWS = readdirSync(join(root, '.github', 'workflows')).filter((f) => /\.ya?ml$/.test(f));

describe('all three', () => {
  it.each(WORKFLOWS)(
    '%s: read-only token by default, a timeout on every job, actions pinned to a commit',
    (name) => {
      const w = workflow(name);
      expect(w.permissions).toEqual({ contents: 'read' });
      for (const job of Object.values(w.jobs)) expect(job['timeout-minutes']).toBeGreaterThan(0);
      for (const step of steps(w).filter((s) => s.uses))
        expect(step.uses, `${name}: ${step.uses}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
      expect(w.concurrency).toBeDefined();
    },
  );

  it.each(WORKFLOWS)('%s: no expression inside a run script: values reach the shell through env', (name) => {
    for (const step of steps(workflow(name)).filter((s) => s.run)) expect(step.run).not.toContain('${{');
  });

  it('are the three this file checks in detail', () => {
    expect(WORKFLOWS).toEqual(expect.arrayContaining(['ci.yml', 'release.yml', 'e2e-kind.yml']));
  });
});

describe('ci.yml', () => {
  const ci = workflow('ci.yml');
  const script = readFileSync(join(root, '.ci', 'run'), 'utf8');

  it('runs on pull requests and on pushes to main', () => {
    expect(ci.on).toEqual({ pull_request: null, push: { branches: ['main'] } });
  });

  it('runs `bash .ci/run` and nothing that .ci/run lacks', () => {
    expect(steps(ci).flatMap((s) => (s.run === undefined ? [] : [s.run.trim()]))).toEqual(['bash .ci/run']);
    // The other steps only fetch the code, provide npm, and keep the report.
    expect(steps(ci).flatMap((s) => (s.uses ? [s.uses.split('@')[0]] : []))).toEqual([
      'actions/checkout',
      'actions/setup-node',
      'actions/upload-artifact',
    ]);
    const upload = steps(ci).find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with?.path).toBe('.tmp/vitest.json');
    expect(script).toContain('--outputFile.json=.tmp/vitest.json');
  });

  it('so it installs, tests, typechecks, checks dist/ and lints, as .ci/run does', () => {
    for (const command of [
      'bash scripts/setup.sh',
      'npm test',
      'npm run typecheck',
      'npm run check-dist',
      'npm run lint\n',
      'npm run lint:workflows',
    ])
      expect(script).toContain(command);
  });
});

describe('release.yml', () => {
  const release = workflow('release.yml');
  const job = Object.values(release.jobs)[0]!;
  const step = (name: string): Step => {
    const found = job.steps.find((s) => s.name === name);
    if (!found) throw new Error(`release.yml has no step "${name}"`);
    return found;
  };

  it('runs on semver tags only, with write access in its one job', () => {
    expect(release.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } });
    expect(Object.keys(release.jobs)).toHaveLength(1);
    expect(job.permissions).toEqual({ contents: 'write' });
    expect(job.env?.TAG).toBe('${{ github.ref_name }}');
  });

  it('takes the notes from the changelog and checks dist/ before it creates the release from them', () => {
    const names = job.steps.map((s) => s.name);
    const notes = step('Release notes from CHANGELOG.md').run!;
    expect(notes).toContain('tsx scripts/release-notes.ts "$TAG" > "$RUNNER_TEMP/release-notes.md"');
    expect(step('dist/ matches the sources').run).toBe('npm run check-dist');
    const create = step('Create the release').run!;
    expect(create).toContain(
      'gh release create "$TAG" --verify-tag --title "$TAG" --notes-file "$RUNNER_TEMP/release-notes.md"',
    );
    expect(names.indexOf('Release notes from CHANGELOG.md')).toBeLessThan(
      names.indexOf('Create the release'),
    );
    expect(names.indexOf('dist/ matches the sources')).toBeLessThan(names.indexOf('Create the release'));
    expect(names.at(-1)).toBe('Move the major tag');
  });

  describe('moves the major tag of the pushed tag (its step run against a scratch origin)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'release-tags-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const origin = join(dir, 'origin.git');
    const clone = join(dir, 'clone');
    // git's progress goes to stderr: kept out of the test output (a failure still shows it).
    const QUIET: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
    const env = { PATH: process.env.PATH ?? '', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' };
    const git = (...args: string[]): string =>
      execFileSync('git', args, { cwd: clone, env, encoding: 'utf8', stdio: QUIET }).trim();
    const commit = (message: string): string => {
      git(
        '-c',
        'user.name=test',
        '-c',
        'user.email=test@example.invalid',
        'commit',
        '--allow-empty',
        '-qm',
        message,
      );
      return git('rev-parse', 'HEAD');
    };
    /** Pushes the tag as a maintainer would, then runs the step as the workflow would for it. */
    const release = (tag: string, sha: string): string => {
      git('tag', tag, sha);
      git('push', '-q', 'origin', `refs/tags/${tag}`);
      return execFileSync('bash', ['-eo', 'pipefail', '-c', step('Move the major tag').run!], {
        cwd: clone,
        env: { ...env, TAG: tag, GITHUB_SHA: sha },
        encoding: 'utf8',
        stdio: QUIET,
      });
    };
    const remoteTag = (tag: string): string | undefined =>
      git('ls-remote', '--tags', 'origin', `refs/tags/${tag}`).split(/\s+/)[0] || undefined;

    execFileSync('git', ['init', '-q', '--bare', origin], { env, stdio: QUIET });
    execFileSync('git', ['clone', '-q', origin, clone], { env, stdio: QUIET });

    it('v1.2.3 creates v1 at its commit, and v1.3.0 moves it', () => {
      const first = commit('first');
      expect(release('v1.2.3', first)).toContain(`v1 now points at v1.2.3 (${first})`);
      expect(remoteTag('v1')).toBe(first);
      const second = commit('second');
      release('v1.3.0', second);
      expect(remoteTag('v1')).toBe(second);
    });

    it('a patch to an older minor (v1.2.4 after v1.3.0) leaves v1 on v1.3.0', () => {
      const before = remoteTag('v1');
      const backport = commit('backport');
      expect(release('v1.2.4', backport)).toContain('v1.2.4 is not the newest v1 release (v1.3.0): v1 stays');
      expect(remoteTag('v1')).toBe(before);
    });

    it('v2.0.0 creates v2 and leaves v1 alone; v10.0.0 is not a v1 release', () => {
      const v1 = remoteTag('v1');
      const major = commit('major');
      release('v2.0.0', major);
      expect(remoteTag('v2')).toBe(major);
      expect(remoteTag('v1')).toBe(v1);
      const ten = commit('ten');
      release('v10.0.0', ten);
      expect(remoteTag('v10')).toBe(ten);
      expect(remoteTag('v1')).toBe(v1);
    });
  });
});

describe('e2e-kind.yml', () => {
  const kind = workflow('e2e-kind.yml');
  const job = Object.values(kind.jobs)[0]!;
  const env = { ...kind.env, ...job.env };
  const tags = (env.TEST_APP_TAGS ?? '').split(/\s+/).filter(Boolean);
  const image = env.E2E_IMAGE!;
  const manifests = (file: string): Manifest[] =>
    parseAllDocuments(readFileSync(join(root, 'test', 'cluster', file), 'utf8')).map(
      (d) => d.toJS() as Manifest,
    );

  it('runs by hand, nightly, and on pull requests that change the bundles or the sandbox', () => {
    expect(Object.keys(kind.on).sort()).toEqual(['pull_request', 'schedule', 'workflow_dispatch']);
    const paths = (kind.on.pull_request as { paths: string[] }).paths;
    expect(paths).toEqual(expect.arrayContaining(['dist/**', 'packages/**']));
  });

  it('runs `npm run test:cluster` with the interface the real-cluster mode reads, and always deletes the cluster', () => {
    const names = job.steps.map((s) => s.name ?? s.uses);
    const test = job.steps.findIndex((s) => s.run === 'npm run test:cluster');
    expect(test).toBeGreaterThan(0);
    for (const name of ['E2E_KUBECONFIG', 'E2E_PROMETHEUS_URL', 'E2E_IMAGE', 'E2E_SUMMARY_DIR'])
      expect(env[name], name).toBeTruthy();
    const kindStep = job.steps.find((s) => s.uses?.startsWith('helm/kind-action@'));
    expect(kindStep?.with?.cluster_name).toBe('${{ env.CLUSTER_NAME }}');
    const upload = job.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'));
    expect(upload?.with?.path).toBe('${{ env.E2E_SUMMARY_DIR }}');
    expect(upload?.if).toBe('${{ !cancelled() }}');
    const last = job.steps.at(-1)!;
    expect(last.if).toBe('${{ always() }}');
    expect(last.run).toContain('kind delete cluster --name "$CLUSTER_NAME"');
    expect(names.indexOf('Port-forward Prometheus')).toBeLessThan(test);
    expect(names.indexOf('Load generator')).toBeLessThan(test);
  });

  it('loads an image for every version the e2e tests deploy', () => {
    const e2e = join(root, 'test', 'e2e');
    const used = new Set<string>();
    for (const file of readdirSync(e2e).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(e2e, file), 'utf8');
      for (const m of text.matchAll(/acme\/[^:'"`\s]+:(\d+\.\d+\.\d+)/g)) used.add(m[1]!);
      for (const m of text.matchAll(/\b(?:app|image)\('(\d+\.\d+\.\d+)'/g)) used.add(m[1]!);
    }
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((tag) => !tags.includes(tag))).toEqual([]);
  });

  it("the load generator runs one of the loaded tags, and Prometheus scrapes the test app's port by that image", () => {
    const loadGenerator = manifests('load-generator.yaml').find((m) => m.kind === 'Deployment')!;
    const container = loadGenerator.spec!.template!.spec!.containers![0]!;
    const [repository, tag] = String(container.image).split(':');
    expect(repository).toBe(image);
    expect(tags).toContain(tag);
    expect(container.args?.[0]).toBe('load');

    const config = parse(readFileSync(join(root, 'test', 'cluster', 'prometheus.yml'), 'utf8'));
    const job = config.scrape_configs.find((c: { job_name: string }) => c.job_name === 'test-app');
    const keep = job.relabel_configs.find((r: { action: string }) => r.action === 'keep');
    expect(keep.source_labels).toEqual([
      '__meta_kubernetes_pod_container_image',
      '__meta_kubernetes_pod_container_port_number',
    ]);
    // Prometheus anchors relabel regexes at both ends.
    const matches = (value: string): boolean => new RegExp(`^(?:${keep.regex})$`).test(value);
    expect(matches(`${image}:1.0.0;8080`)).toBe(true);
    expect(matches(`docker.io/library/${image}:2.0.0;8080`)).toBe(true);
    expect(matches(`${image}:1.0.0;15090`)).toBe(false);
    expect(matches('docker.io/istio/proxyv2:1.26.3;15090')).toBe(false);
    expect(matches('ghcr.io/acme/web:1.0.0;8080')).toBe(false);
  });

  it('the cluster manifests are valid Kubernetes objects', () => {
    type Model = new (data: unknown) => { validate(): void };
    const models: Record<string, Model> = {
      'v1/Namespace': Namespace as unknown as Model,
      'v1/Service': Service as unknown as Model,
      'v1/ServiceAccount': ServiceAccount as unknown as Model,
      'apps/v1/Deployment': Deployment as unknown as Model,
      'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole as unknown as Model,
      'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding as unknown as Model,
    };
    const files = readdirSync(join(root, 'test', 'cluster')).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual(['load-generator.yaml', 'namespaces.yaml', 'prometheus.yaml']);
    for (const file of files)
      for (const object of manifests(file)) {
        const Model = models[`${object.apiVersion}/${object.kind}`];
        expect(Model, `${file}: ${object.apiVersion}/${object.kind}`).toBeDefined();
        expect(
          () => new Model!(object).validate(),
          `${file}: ${object.kind} ${object.metadata?.name}`,
        ).not.toThrow();
      }
  });
});
