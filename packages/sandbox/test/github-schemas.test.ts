import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  extractFromInstalledPackage,
  OUTPUT_FILE,
  renderOperations,
  SERVED_OPERATIONS,
} from '../scripts/extract-github-schemas.js';
import { compiledOperations, describeSchemaErrors } from '../src/standins/github-schemas.js';

describe('GitHub operation schemas', () => {
  it('the committed file is exactly what the extract script makes from @octokit/openapi', async () => {
    // Parsing the full description takes seconds; this is the one place that pays for it.
    const extracted = await extractFromInstalledPackage();
    expect(extracted.operations.map((o) => o.operationId)).toEqual([...SERVED_OPERATIONS]);
    expect(await readFile(OUTPUT_FILE, 'utf8')).toBe(await renderOperations(extracted));
  });

  it('routes by path template and coerces path parameters', () => {
    const get = compiledOperations().find((o) => o.operationId === 'repos/get-deployment');
    const params = get?.matchPath('/repos/acme/shop/deployments/12');
    expect(params).toEqual({ owner: 'acme', repo: 'shop', deployment_id: '12' });
    const coerced: Record<string, unknown> = { ...params };
    expect(get?.validateParams(coerced)).toBe(true);
    expect(coerced.deployment_id).toBe(12);
    expect(get?.matchPath('/repos/acme/shop/deployments/12/statuses')).toBeUndefined();
  });

  it('words schema errors the way GitHub words an invalid request', () => {
    const create = compiledOperations().find((o) => o.operationId === 'repos/create-deployment-status');
    expect(create?.validateBody?.({ state: 'nope', auto_inactive: 'x' })).toBe(false);
    const errors = describeSchemaErrors('DeploymentStatus', create?.validateBody?.errors ?? []);
    expect(errors).toEqual([
      {
        resource: 'DeploymentStatus',
        field: 'state',
        code: 'invalid',
        message: `For 'properties/state', "nope" is not a member of ["error", "failure", "inactive", "in_progress", "queued", "pending", "success"].`,
      },
      {
        resource: 'DeploymentStatus',
        field: 'auto_inactive',
        code: 'invalid',
        message: `For 'properties/auto_inactive', "x" is not a boolean.`,
      },
    ]);
  });
});
