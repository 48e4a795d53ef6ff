import { getOctokit } from '@actions/github';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, Faults } from '../src/faults.js';
import { startGitHub, type GitHubStandIn } from '../src/standins/github.js';
import { createAjv, loadOperations } from '../src/standins/github-schemas.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, read field by field by the assertions
type JsonAnswer = any;

const faults = new Faults();
const audit = new AuditLog();
let github: GitHubStandIn;
let octokit: ReturnType<typeof getOctokit>;
const repo = { owner: 'acme', repo: 'shop' };

beforeAll(async () => {
  github = await startGitHub({ faults, audit, repository: 'acme/shop' });
  octokit = getOctokit(github.token, { baseUrl: github.url });
});
afterAll(() => github.stop());
afterEach(() => faults.clear());

/**
 * Checks an answer against GitHub's published response schema for the operation. The schema
 * gives status URLs `default: ""` and `format: uri`; GitHub answers the default, so "" passes.
 */
const ajv = createAjv().addFormat('uri', (value: string) => value === '' || URL.canParse(value));
function expectGitHubShape(operationId: string, status: string, data: unknown): void {
  const schema = loadOperations().find((o) => o.operationId === operationId)?.responses[status];
  expect(schema, `${operationId} ${status} schema`).toBeDefined();
  const validate = ajv.compile(schema as object);
  expect(validate(data) ? [] : validate.errors).toEqual([]);
}

async function raw(method: string, path: string, body?: unknown, auth = `token ${github.token}`) {
  const res = await fetch(`${github.url}${path}`, {
    method,
    headers: { authorization: auth, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as JsonAnswer };
}

describe('deployments through @actions/github octokit', () => {
  it('creates a deployment and its statuses, shaped as GitHub answers', async () => {
    const created = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: 'main',
      environment: 'staging',
      required_contexts: [],
      auto_merge: false,
      payload: { app: 'web', strategy: 'canary' },
      description: 'web canary',
    });
    expect(created.status).toBe(201);
    expectGitHubShape('repos/create-deployment', '201', created.data);
    const deployment = created.data as { id: number; statuses_url: string; sha: string };
    expect(deployment.statuses_url).toBe(
      `${github.url}/repos/acme/shop/deployments/${deployment.id}/statuses`,
    );
    expect(deployment.sha).toMatch(/^[0-9a-f]{40}$/);

    const inProgress = await octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: deployment.id,
      state: 'in_progress',
      log_url: 'https://github.com/acme/shop/actions/runs/1',
    });
    expectGitHubShape('repos/create-deployment-status', '201', inProgress.data);
    expect(inProgress.data).toMatchObject({ environment: 'staging', target_url: inProgress.data.log_url });
    await octokit.rest.repos.createDeploymentStatus({
      ...repo,
      deployment_id: deployment.id,
      state: 'success',
      environment_url: 'https://staging.example.com',
      description: 'canary promoted',
    });

    const statuses = await octokit.rest.repos.listDeploymentStatuses({
      ...repo,
      deployment_id: deployment.id,
    });
    expectGitHubShape('repos/list-deployment-statuses', '200', statuses.data);
    expect(statuses.data.map((s) => s.state)).toEqual(['success', 'in_progress']);

    const fetched = await octokit.rest.repos.getDeployment({ ...repo, deployment_id: deployment.id });
    expectGitHubShape('repos/get-deployment', '200', fetched.data);
    expect(fetched.data.payload).toEqual({ app: 'web', strategy: 'canary' });

    const recorded = github.deployments.find((d) => d.id === deployment.id);
    expect(recorded).toMatchObject({
      ref: 'main',
      environment: 'staging',
      task: 'deploy',
      description: 'web canary',
    });
    expect(recorded?.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(recorded?.statuses[1]).toMatchObject({ environment_url: 'https://staging.example.com' });
  });

  it('lists deployments newest first, filtered by environment, sha, ref and task, and paginates', async () => {
    const sha = 'a'.repeat(40);
    for (const [environment, task] of [
      ['qa', 'deploy'],
      ['qa', 'deploy:migrations'],
      ['prod-eu', 'deploy'],
    ]) {
      await octokit.rest.repos.createDeployment({
        ...repo,
        ref: sha,
        environment,
        task,
        required_contexts: [],
      });
    }
    const qa = await octokit.rest.repos.listDeployments({ ...repo, environment: 'qa' });
    expectGitHubShape('repos/list-deployments', '200', qa.data);
    expect(qa.data.map((d) => d.task)).toEqual(['deploy:migrations', 'deploy']);
    const bySha = await octokit.rest.repos.listDeployments({ ...repo, sha, task: 'deploy' });
    expect(bySha.data.map((d) => d.environment)).toEqual(['prod-eu', 'qa']);
    expect((await octokit.rest.repos.listDeployments({ ...repo, ref: 'no-such-ref' })).data).toEqual([]);

    const all = await octokit.paginate(octokit.rest.repos.listDeployments, { ...repo, per_page: 2 });
    expect(all.map((d) => d.id)).toEqual(github.deployments.map((d) => d.id).reverse());
    const listCalls = github.requests.filter(
      (r) => r.operationId === 'repos/list-deployments' && r.path.includes('per_page=2'),
    );
    expect(listCalls.length).toBe(Math.ceil(github.deployments.length / 2));
  });

  it('marks earlier successful deploys of a non-production environment inactive (auto_inactive)', async () => {
    const ids: number[] = [];
    for (const ref of ['v1', 'v2']) {
      const { data } = await octokit.rest.repos.createDeployment({
        ...repo,
        ref,
        environment: 'review',
        required_contexts: [],
      });
      const id = (data as { id: number }).id;
      ids.push(id);
      await octokit.rest.repos.createDeploymentStatus({ ...repo, deployment_id: id, state: 'success' });
    }
    const first = github.deployments.find((d) => d.id === ids[0]);
    expect(first?.statuses.map((s) => s.state)).toEqual(['success', 'inactive']);
  });

  it('serves the repository and the rate limit in GitHub shapes', async () => {
    const { data } = await octokit.rest.repos.get(repo);
    expectGitHubShape('repos/get', '200', data);
    expect(data.full_name).toBe('acme/shop');
    const limit = await octokit.rest.rateLimit.get();
    expectGitHubShape('rate-limit/get', '200', limit.data);
    expect(Number(limit.headers['x-ratelimit-remaining'])).toBe(limit.data.rate.remaining);
  });
});

describe('checks against the OpenAPI description', () => {
  it('answers 422 Validation Failed for a body that breaks the schema, and records nothing', async () => {
    const before = github.deployments.length;
    const missingRef = await raw('POST', '/repos/acme/shop/deployments', { environment: 'qa' });
    expect(missingRef.status).toBe(422);
    expect(missingRef.body).toMatchObject({
      message: 'Validation Failed',
      errors: [{ field: 'ref', code: 'missing_field' }],
      status: '422',
    });
    const wrongType = await raw('POST', '/repos/acme/shop/deployments', { ref: 'main', auto_merge: 'yes' });
    expect(wrongType.body.errors).toEqual([
      expect.objectContaining({ field: 'auto_merge', code: 'invalid' }),
    ]);
    expect(github.deployments.length).toBe(before);

    const id = github.deployments[0]?.id ?? 1;
    const badState = await raw('POST', `/repos/acme/shop/deployments/${id}/statuses`, { state: 'done' });
    expect(badState.status).toBe(422);
    expect(badState.body.errors[0].message).toContain('is not a member of');
  });

  it('refuses a status description over 140 characters as GitHub does', async () => {
    const id = github.deployments[0]?.id ?? 1;
    const tooLong = await raw('POST', `/repos/acme/shop/deployments/${id}/statuses`, {
      state: 'success',
      description: 'd'.repeat(141),
    });
    expect([tooLong.status, tooLong.body.errors[0].field]).toEqual([422, 'description']);
  });

  it('surfaces 422 to octokit as a RequestError', async () => {
    await expect(
      octokit.request('POST /repos/{owner}/{repo}/deployments', { ...repo, ref: 42 as unknown as string }),
    ).rejects.toMatchObject({ status: 422 });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await raw('POST', '/repos/acme/shop/deployments', '{"ref":');
    expect([res.status, res.body.message]).toEqual([400, 'Problems parsing JSON']);
  });

  it('answers 404 for unknown routes, other repositories, unknown and malformed ids', async () => {
    expect((await raw('GET', '/repos/acme/shop/pulls')).status).toBe(404);
    expect((await raw('DELETE', '/repos/acme/shop/deployments/1')).status).toBe(404);
    expect((await raw('GET', '/repos/other/repo/deployments')).status).toBe(404);
    expect((await raw('GET', '/repos/acme/shop/deployments/99999')).status).toBe(404);
    expect((await raw('GET', '/repos/acme/shop/deployments/abc')).status).toBe(404);
  });

  it('answers 401 without a valid token, and audits the request as anonymous', async () => {
    const none = await fetch(`${github.url}/repos/acme/shop/deployments`);
    expect([none.status, ((await none.json()) as JsonAnswer).message]).toEqual([
      401,
      'Requires authentication',
    ]);
    const wrong = await raw('GET', '/repos/acme/shop/deployments', undefined, 'token ghs_wrong');
    expect([wrong.status, wrong.body.message]).toEqual([401, 'Bad credentials']);
    const bad = getOctokit('ghs_wrong', { baseUrl: github.url });
    await expect(bad.rest.repos.listDeployments(repo)).rejects.toMatchObject({ status: 401 });
    expect(audit.entries.at(-1)).toMatchObject({ target: 'github', user: 'anonymous', status: 401 });
    const bearer = await raw('GET', '/repos/acme/shop/deployments', undefined, `Bearer ${github.token}`);
    expect(bearer.status).toBe(200);
  });
});

describe('faults', () => {
  it('rate limits with 403 and the rate-limit headers, then recovers', async () => {
    faults.add({
      target: 'github',
      match: { verb: 'repos/create-deployment' },
      status: 403,
      retryAfterSeconds: 7,
      times: 1,
    });
    const error = await octokit.rest.repos
      .createDeployment({ ...repo, ref: 'main', required_contexts: [] })
      .then(
        () => undefined,
        (e: unknown) => e as { status: number; response: { headers: Record<string, string> } },
      );
    expect(error?.status).toBe(403);
    expect(error?.response.headers).toMatchObject({ 'x-ratelimit-remaining': '0', 'retry-after': '7' });
    expect(Number(error?.response.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    const retried = await octokit.rest.repos.createDeployment({
      ...repo,
      ref: 'main',
      required_contexts: [],
    });
    expect(retried.status).toBe(201);
  });

  it('answers 429 and 5xx on the matching route only', async () => {
    faults.add({ target: 'github', match: { method: 'POST', path: /\/statuses$/ }, status: 429, times: 1 });
    faults.add({ target: 'github', match: { verb: 'repos/list-deployments' }, status: 502, times: 1 });
    const id = github.deployments[0]?.id ?? 1;
    const limited = await raw('POST', `/repos/acme/shop/deployments/${id}/statuses`, { state: 'queued' });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '1']);
    expect((await raw('GET', '/repos/acme/shop/deployments')).status).toBe(502);
    expect((await raw('GET', '/repos/acme/shop/deployments')).status).toBe(200);
    const audited = audit.entries.filter((e) => e.target === 'github').slice(-3);
    expect(audited.map((e) => [e.verb, e.status])).toEqual([
      ['repos/create-deployment-status', 429],
      ['repos/list-deployments', 502],
      ['repos/list-deployments', 200],
    ]);
  });

  it('records every request with its operation, body and status', () => {
    const create = github.requests.find(
      (r) => r.operationId === 'repos/create-deployment' && r.status === 201,
    );
    expect(create).toMatchObject({
      method: 'POST',
      path: '/repos/acme/shop/deployments',
      body: { ref: 'main' },
    });
    expect(JSON.stringify(github.requests)).not.toContain(github.token);
  });
});
