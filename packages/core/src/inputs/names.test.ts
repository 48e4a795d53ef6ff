import { describe, expect, it } from 'vitest';
import { isAnnotationKey, KUBE_NAME, namePrefixRule } from './names.js';

describe('Kubernetes names', () => {
  it('takes RFC 1123 labels of at most 63 characters', () => {
    expect(KUBE_NAME.test('a'.repeat(63))).toBe(true);
    expect(KUBE_NAME.test('a'.repeat(64))).toBe(false);
    expect(KUBE_NAME.test('web-1')).toBe(true);
    expect(KUBE_NAME.test('-web')).toBe(false);
  });

  it('leaves room for the longest suffix of a name others are made from', () => {
    const rule = namePrefixRule(['-blue', '-green']);
    expect(rule.max).toBe(57);
    expect(rule.check('a'.repeat(57))).toBeUndefined();
    expect(rule.check('a'.repeat(58))).toBe(rule.form);
    expect(rule.form).toContain('at most 57 characters');
  });
});

describe('annotation keys', () => {
  it.each(['team', 'acme.com/team', 'a_b.c-d', 'kubernetes.io/change-cause', `${'a'.repeat(253)}/x`])(
    'accepts %s',
    (key) => expect(isAnnotationKey(key)).toBe(true),
  );

  it.each([
    '',
    'my team',
    'Acme.com/team',
    'team-',
    '/team',
    'a/b/c',
    'x'.repeat(64),
    `${'a'.repeat(254)}/x`,
  ])('refuses %j', (key) => expect(isAnnotationKey(key)).toBe(false));
});
