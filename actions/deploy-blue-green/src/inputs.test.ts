import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InputError } from '@cd-actions/core/inputs/inputs';
import { getInputs, getPlan } from './inputs.js';

const workspace = await mkdtemp(join(tmpdir(), 'blue-green-inputs-'));
afterEach(() => vi.unstubAllEnvs());

function read(given: Record<string, string>): (name: string) => string {
  return (name) => given[name] ?? '';
}

function inputErrorOf(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, but the inputs were accepted');
}

const LIMIT =
  'at most 57 characters so that the names made from it (<name>-blue, <name>-green) stay within the 63-character limit';

describe('deploy-blue-green inputs: names made from the app', () => {
  it('accepts an app of 57 characters', () => {
    const app = 'a'.repeat(57);
    expect(getInputs({ read: read({ app, images: 'web=ghcr.io/acme/web:2' }), workspace }).app).toBe(app);
  });

  it('blames "app" for an app too long for <app>-green, stating the limit', () => {
    const app = `web-${'x'.repeat(56)}`; // 60 characters: a valid name, but web-…-green is 66
    const error = inputErrorOf(() =>
      getInputs({ read: read({ app, manifests: 'k8s/app.yaml' }), workspace }),
    );
    expect(error.problems.map((p) => p.input)).toEqual(['app']);
    expect(error.message).toContain(`Input "app" has value "${app}": expected a Kubernetes name`);
    expect(error.message).toContain(LIMIT);
  });

  it('blames "service" for a Gateway API colour Service name that would be too long', () => {
    const service = 's'.repeat(60);
    const given = {
      service,
      route: 'gateway-api',
      'route-name': 'web',
      images: 'web=ghcr.io/acme/web:2',
      app: 'web',
    };
    const error = inputErrorOf(() => getInputs({ read: read(given), workspace }));
    expect(error.problems.map((p) => p.input)).toEqual(['service']);
    expect(error.message).toContain(`with route gateway-api, a Kubernetes name`);
    // With a Service route the Service keeps its own name: no suffix, no shorter limit.
    expect(getInputs({ read: read({ ...given, route: 'service' }), workspace }).service).toBe(service);
  });

  it('blames "manifests" when the Deployment there names a too long app, and says to give "app"', async () => {
    const name = 'd'.repeat(60);
    await mkdir(join(workspace, 'k8s'), { recursive: true });
    await writeFile(
      join(workspace, 'k8s', 'long.yaml'),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  selector: { matchLabels: { app: web } }\n  template:\n    metadata: { labels: { app: web } }\n    spec:\n      containers: [{ name: web, image: ghcr.io/acme/web:1 }]\n`,
    );
    vi.stubEnv('GITHUB_WORKSPACE', workspace);
    const settings = getInputs({ read: read({ manifests: 'k8s/long.yaml' }), workspace });
    const error = await getPlan(settings).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).problems.map((p) => p.input)).toEqual(['manifests']);
    expect((error as Error).message).toContain(
      `the Deployment's name "${name}" (60 characters) names the app when input "app" is not given, and the app must be at most 57 characters`,
    );
    // Given a short app, the same manifests are fine.
    const plan = await getPlan(
      getInputs({ read: read({ manifests: 'k8s/long.yaml', app: 'web' }), workspace }),
    );
    expect(plan.app).toBe('web');
  });
});
