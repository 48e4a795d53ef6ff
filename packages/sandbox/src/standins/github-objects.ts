/**
 * The JSON the GitHub stand-in answers with, shaped as GitHub's REST API answers (the test
 * checks each against the published response schema). URLs point at the stand-in.
 */
import { createHash } from 'node:crypto';

export interface DeploymentStatusRecord {
  id: number;
  state: string;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url: string;
  created_at: string;
  updated_at: string;
}

export interface DeploymentRecord {
  id: number;
  ref: string;
  sha: string;
  task: string;
  payload: unknown;
  environment: string;
  original_environment: string;
  description: string | null;
  transient_environment: boolean;
  production_environment: boolean;
  created_at: string;
  updated_at: string;
  /** Oldest first. */
  statuses: DeploymentStatusRecord[];
}

export interface Repository {
  owner: string;
  name: string;
  id: number;
  createdAt: string;
}

/** The identity `GITHUB_TOKEN` acts as in a workflow run. */
export function actionsBot(base: string): Record<string, unknown> {
  const url = `${base}/users/github-actions%5Bbot%5D`;
  return {
    login: 'github-actions[bot]',
    id: 41898282,
    node_id: 'MDM6Qm90NDE4OTgyODI=',
    avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
    gravatar_id: '',
    url,
    html_url: 'https://github.com/apps/github-actions',
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'Bot',
    user_view_type: 'public',
    site_admin: false,
  };
}

export function repositoryUrl(base: string, repo: Repository): string {
  return `${base}/repos/${repo.owner}/${repo.name}`;
}

export function nodeId(prefix: string, id: number): string {
  return `${prefix}_${Buffer.from(`sandbox:${prefix}:${id}`).toString('base64url')}`;
}

/** Without a git repository behind it, a branch or tag name resolves to a stable made-up commit. */
export function shaFor(ref: string): string {
  return /^[0-9a-f]{40}$/i.test(ref)
    ? ref.toLowerCase()
    : createHash('sha1').update(`ref:${ref}`).digest('hex');
}

export function deploymentJson(base: string, repo: Repository, d: DeploymentRecord): Record<string, unknown> {
  const url = `${repositoryUrl(base, repo)}/deployments/${d.id}`;
  return {
    url,
    id: d.id,
    node_id: nodeId('DE', d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.original_environment,
    environment: d.environment,
    description: d.description,
    creator: actionsBot(base),
    created_at: d.created_at,
    updated_at: d.updated_at,
    statuses_url: `${url}/statuses`,
    repository_url: repositoryUrl(base, repo),
    transient_environment: d.transient_environment,
    production_environment: d.production_environment,
    performed_via_github_app: null,
  };
}

export function statusJson(
  base: string,
  repo: Repository,
  d: DeploymentRecord,
  s: DeploymentStatusRecord,
): Record<string, unknown> {
  const deploymentUrl = `${repositoryUrl(base, repo)}/deployments/${d.id}`;
  return {
    url: `${deploymentUrl}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DES', s.id),
    state: s.state,
    creator: actionsBot(base),
    description: s.description,
    environment: s.environment,
    target_url: s.target_url,
    created_at: s.created_at,
    updated_at: s.updated_at,
    deployment_url: deploymentUrl,
    repository_url: repositoryUrl(base, repo),
    environment_url: s.environment_url,
    log_url: s.log_url,
    performed_via_github_app: null,
  };
}

export function rateLimitJson(core: { limit: number; remaining: number; reset: number; used: number }) {
  const fresh = (limit: number) => ({ limit, remaining: limit, reset: core.reset, used: 0 });
  return {
    resources: { core, search: fresh(30), graphql: fresh(5000), integration_manifest: fresh(5000) },
    rate: core,
  };
}

/** GET /repos/{owner}/{repo}: every field the full-repository schema requires. */
export function repositoryJson(base: string, repo: Repository): Record<string, unknown> {
  const url = repositoryUrl(base, repo);
  const html = `https://github.com/${repo.owner}/${repo.name}`;
  const ownerUrl = `${base}/users/${repo.owner}`;
  const templated = (path: string, suffix: string) => `${url}/${path}${suffix}`;
  return {
    id: repo.id,
    node_id: nodeId('R', repo.id),
    name: repo.name,
    full_name: `${repo.owner}/${repo.name}`,
    private: false,
    owner: {
      login: repo.owner,
      id: repo.id + 1,
      node_id: nodeId('O', repo.id + 1),
      avatar_url: `https://avatars.githubusercontent.com/u/${repo.id + 1}?v=4`,
      gravatar_id: '',
      url: ownerUrl,
      html_url: `https://github.com/${repo.owner}`,
      followers_url: `${ownerUrl}/followers`,
      following_url: `${ownerUrl}/following{/other_user}`,
      gists_url: `${ownerUrl}/gists{/gist_id}`,
      starred_url: `${ownerUrl}/starred{/owner}{/repo}`,
      subscriptions_url: `${ownerUrl}/subscriptions`,
      organizations_url: `${ownerUrl}/orgs`,
      repos_url: `${ownerUrl}/repos`,
      events_url: `${ownerUrl}/events{/privacy}`,
      received_events_url: `${ownerUrl}/received_events`,
      type: 'Organization',
      user_view_type: 'public',
      site_admin: false,
    },
    html_url: html,
    description: 'Sandbox repository served by the cd-actions GitHub stand-in',
    fork: false,
    url,
    archive_url: templated('{archive_format}', '{/ref}'),
    assignees_url: templated('assignees', '{/user}'),
    blobs_url: templated('git/blobs', '{/sha}'),
    branches_url: templated('branches', '{/branch}'),
    collaborators_url: templated('collaborators', '{/collaborator}'),
    comments_url: templated('comments', '{/number}'),
    commits_url: templated('commits', '{/sha}'),
    compare_url: templated('compare/', '{base}...{head}'),
    contents_url: templated('contents/', '{+path}'),
    contributors_url: `${url}/contributors`,
    deployments_url: `${url}/deployments`,
    downloads_url: `${url}/downloads`,
    events_url: `${url}/events`,
    forks_url: `${url}/forks`,
    git_commits_url: templated('git/commits', '{/sha}'),
    git_refs_url: templated('git/refs', '{/sha}'),
    git_tags_url: templated('git/tags', '{/sha}'),
    git_url: `git://github.com/${repo.owner}/${repo.name}.git`,
    issue_comment_url: templated('issues/comments', '{/number}'),
    issue_events_url: templated('issues/events', '{/number}'),
    issues_url: templated('issues', '{/number}'),
    keys_url: templated('keys', '{/key_id}'),
    labels_url: templated('labels', '{/name}'),
    languages_url: `${url}/languages`,
    merges_url: `${url}/merges`,
    milestones_url: templated('milestones', '{/number}'),
    notifications_url: templated('notifications', '{?since,all,participating}'),
    pulls_url: templated('pulls', '{/number}'),
    releases_url: templated('releases', '{/id}'),
    ssh_url: `git@github.com:${repo.owner}/${repo.name}.git`,
    stargazers_url: `${url}/stargazers`,
    statuses_url: templated('statuses/', '{sha}'),
    subscribers_url: `${url}/subscribers`,
    subscription_url: `${url}/subscription`,
    tags_url: `${url}/tags`,
    teams_url: `${url}/teams`,
    trees_url: templated('git/trees', '{/sha}'),
    clone_url: `${html}.git`,
    mirror_url: null,
    hooks_url: `${url}/hooks`,
    svn_url: html,
    homepage: null,
    language: 'TypeScript',
    forks_count: 0,
    forks: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 0,
    default_branch: 'main',
    open_issues_count: 0,
    open_issues: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_downloads: false,
    has_discussions: false,
    archived: false,
    disabled: false,
    visibility: 'public',
    license: null,
    pushed_at: repo.createdAt,
    created_at: repo.createdAt,
    updated_at: repo.createdAt,
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    allow_forking: true,
    web_commit_signoff_required: false,
    network_count: 0,
    subscribers_count: 0,
  };
}
