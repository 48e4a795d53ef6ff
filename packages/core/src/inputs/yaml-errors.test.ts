import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { aliasBomb } from '../testing/alias-bomb.js';
import { MAX_ALIAS_COUNT, plainYamlWords, toPlain, yamlErrorText } from './yaml-errors.js';

const SECRET = 'hunter2sekret';

describe('YAML errors never quote the file', () => {
  it.each([
    ['a code frame', `key: "unterminated ${SECRET}\n`],
    ['an unknown tag', `key: !${SECRET} value\n`],
    ['a bad escape', `key: "\\${SECRET.slice(0, 1)}${SECRET}"\n`],
    ['a block scalar header', `key: |${SECRET}\n  text\n`],
    ['text after a flow map', `{ a: 1 } ${SECRET}\n`],
    ['a block list inside a flow list', `key: [ - ${SECRET} ]\n`],
    ['an unknown directive', `%${SECRET} x\n---\nkey: 1\n`],
    ['a tab as indentation', `key:\n\t${SECRET}: 1\n`],
    ['a duplicate key', `${SECRET}: 1\n${SECRET}: 2\n`],
  ])('%s', (_title, text) => {
    const doc = parseDocument(text);
    expect(doc.errors.length + doc.warnings.length).toBeGreaterThan(0);
    for (const error of [...doc.errors, ...doc.warnings]) {
      const words = yamlErrorText(error);
      expect(words).not.toContain(SECRET);
      expect(words).not.toContain('\n');
      expect(words).toMatch(/^line \d+, column \d+: \S/);
    }
  });

  it('keeps the parser words that quote nothing', () => {
    expect(plainYamlWords('Map keys must be unique at line 2, column 1:\n\nx: 2\n^\n')).toBe(
      'Map keys must be unique',
    );
    expect(plainYamlWords('Unresolved tag: !secret')).toBe('Unresolved tag');
    expect(plainYamlWords('Invalid escape sequence \\q')).toBe('Invalid escape sequence');
    expect(plainYamlWords('Unexpected &x in flow map')).toBe('Unexpected token in flow map');
    expect(plainYamlWords('Unexpected , in flow map')).toBe('Unexpected , in flow map');
    expect(plainYamlWords('Unexpected empty item in flow sequence')).toBe(
      'Unexpected empty item in flow sequence',
    );
  });
});

describe('toPlain', () => {
  it('expands ordinary aliases', () => {
    expect(toPlain(parseDocument('base: &b { a: 1 }\ncopy: *b\n'))).toEqual({
      ok: true,
      value: { base: { a: 1 }, copy: { a: 1 } },
    });
  });

  it('refuses an alias bomb with a reason instead of an exception', () => {
    const result = toPlain(parseDocument(aliasBomb()));
    expect(result).toEqual({
      ok: false,
      reason: `its aliases expand past ${MAX_ALIAS_COUNT} copies, which is refused as an alias bomb`,
    });
  });

  it('refuses an alias whose anchor comes later, without quoting the anchor', () => {
    const result = toPlain(parseDocument(`a: *${SECRET}\nb: &${SECRET} 1\n`));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).not.toContain(SECRET);
  });
});
