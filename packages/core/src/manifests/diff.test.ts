import { describe, expect, it } from 'vitest';
import { diffObjects } from './diff.js';
import type { KubeObject } from './manifests.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

// Each value is distinctive, so a leak anywhere in the diff is found by a plain substring search.
const VALUES = {
  kept: 'kept-value-KQ7x',
  old: 'old-value-ZP3m',
  new: 'new-value-WR8c',
  removed: 'removed-value-TB1n',
  added: 'added-value-HY5v',
  stringKept: 'string-kept-LM2q',
  stringOld: 'string-old-FD6j',
  stringNew: 'string-new-XC9s',
  stringAdded: 'string-added-NU4k',
};
const LEAKS = [...Object.values(VALUES), ...Object.values(VALUES).map(b64)];

function secret(
  data: Record<string, string> | undefined,
  stringData?: Record<string, string>,
  annotations: Record<string, string> = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'shop', annotations },
    type: 'Opaque',
    ...(data ? { data } : {}),
    ...(stringData ? { stringData } : {}),
  };
}

function expectNoLeak(diff: string): void {
  for (const value of LEAKS) expect(diff).not.toContain(value);
}

/** The diff's changed lines, without the headers, as "+ line" / "- line". */
function changes(diff: string): string[] {
  return diff
    .split('\n')
    .filter((l) => /^[+-]/.test(l) && !/^(\+\+\+|---) /.test(l))
    .map((l) => `${l[0]} ${l.slice(1).trim()}`);
}

describe('diffObjects on a Secret', () => {
  const live = secret(
    { kept: b64(VALUES.kept), changed: b64(VALUES.old), removed: b64(VALUES.removed) },
    { skept: VALUES.stringKept, schanged: VALUES.stringOld },
  );
  const result = secret(
    { kept: b64(VALUES.kept), changed: b64(VALUES.new), added: b64(VALUES.added) },
    { skept: VALUES.stringKept, schanged: VALUES.stringNew, sadded: VALUES.stringAdded },
  );
  const diff = diffObjects(result, live, result);

  it('marks added, changed and removed keys of data and stringData, and never prints a value', () => {
    expect(changes(diff).sort()).toEqual(
      [
        '- changed: "*** (before)"',
        '+ changed: "*** (after)"',
        '- removed: "***"',
        '+ added: "***"',
        '- schanged: "*** (before)"',
        '+ schanged: "*** (after)"',
        '+ sadded: "***"',
      ].sort(),
    );
    expectNoLeak(diff);
  });

  it('shows unchanged keys as "***" in the context', () => {
    expect(diff).toMatch(/^ {3}kept: "\*\*\*"$/m);
    expect(diff).toMatch(/^ {3}skept: "\*\*\*"$/m);
  });

  it('masks every value of a new Secret', () => {
    const created = secret({ token: b64(VALUES.added) }, { password: VALUES.stringAdded });
    const diffNew = diffObjects(created, undefined, created);
    expect(diffNew).toContain('--- /dev/null');
    expect(changes(diffNew)).toEqual(expect.arrayContaining(['+ token: "***"', '+ password: "***"']));
    expectNoLeak(diffNew);
  });

  it('is empty when only values the diff never shows are equal', () => {
    const same = secret({ kept: b64(VALUES.kept) });
    expect(diffObjects(same, same, structuredClone(same))).toBe('');
  });

  it('shows a change of value even when the masks alone would read the same', () => {
    const before = secret({ only: b64(VALUES.old) });
    const after = secret({ only: b64(VALUES.new) });
    expect(changes(diffObjects(after, before, after))).toEqual([
      '- only: "*** (before)"',
      '+ only: "*** (after)"',
    ]);
  });

  it('drops the last-applied-configuration annotation, which holds every value', () => {
    const lastApplied = JSON.stringify(secret({ changed: b64(VALUES.old) }, { s: VALUES.stringOld }));
    const annotated = secret({ changed: b64(VALUES.new) }, undefined, {
      'kubectl.kubernetes.io/last-applied-configuration': lastApplied,
      team: 'payments',
    });
    const diffAnnotated = diffObjects(annotated, undefined, annotated);
    expect(diffAnnotated).not.toContain('last-applied-configuration');
    expect(diffAnnotated).toContain('team: payments');
    expectNoLeak(diffAnnotated);
  });

  it('masks a data field that is not a map, whole', () => {
    const odd = { ...secret(undefined), data: VALUES.old };
    const diffOdd = diffObjects(odd, undefined, odd);
    expect(changes(diffOdd)).toContain('+ data: "***"');
    expectNoLeak(diffOdd);
  });
});

describe('diffObjects on other kinds', () => {
  it('shows ConfigMap data as it is, without server noise', () => {
    const cm = (value: string, rv: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', resourceVersion: rv, uid: 'u1', managedFields: [{ manager: 'x' }] },
      data: { mode: value },
    });
    const diff = diffObjects(cm('fast', '2'), cm('slow', '1'), cm('fast', '2'));
    expect(changes(diff)).toEqual(['- mode: slow', '+ mode: fast']);
    expect(diff).not.toMatch(/resourceVersion|managedFields|uid/);
  });

  it('leaves out the record and revision annotations', () => {
    const deployment = (annotations: Record<string, string>): KubeObject => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', annotations },
      spec: { replicas: 2 },
    });
    const live = deployment({ 'cd-actions.dev/record': '{"a":1}', 'deployment.kubernetes.io/revision': '3' });
    const result = deployment({
      'cd-actions.dev/record': '{"a":2}',
      'deployment.kubernetes.io/revision': '4',
    });
    expect(diffObjects(result, live, result)).toBe('');
  });
});
