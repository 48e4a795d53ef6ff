import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_PAYLOAD_FILE_BYTES,
  parsePayloadTemplate,
  readPayloadFile,
  templateProblems,
  type PayloadTemplate,
} from './payload-template.js';

function parsed(text: string, file?: string): PayloadTemplate {
  const result = parsePayloadTemplate(text, file);
  if (!result.ok) throw new Error(result.reason);
  return result.template;
}

function reason(text: string, file?: string): string {
  const result = parsePayloadTemplate(text, file);
  if (result.ok) throw new Error('expected a problem');
  return result.reason;
}

describe('parsePayloadTemplate', () => {
  it('reads YAML and JSON alike, placeholders left in place', () => {
    const yaml = parsed('text: "{{ app }} is {{status}}"\nblocks: []\n', 'notice.yml');
    const json = parsed('{\n\t"text": "{{ app }} is {{status}}",\n\t"blocks": []\n}\n', 'notice.json');
    expect(yaml.value).toEqual({ text: '{{ app }} is {{status}}', blocks: [] });
    expect(json.value).toEqual(yaml.value);
  });

  it('names the file, line and column of a syntax error, without quoting the file', () => {
    const text = 'text: ok\nblocks:\n  - type: section\n    text: "secret-ish" : x\n';
    const message = reason(text, 'slack/notice.yml');
    expect(message).toBe(
      'slack/notice.yml:4: Nested mappings are not allowed in compact mappings (column 11): not valid YAML or JSON',
    );
    expect(message).not.toContain('secret-ish');
    expect(reason('{\n  "text": "a",\n  "blocks": [,]\n}', 'notice.json')).toMatch(/^notice\.json:3: /);
    // The payload input has no file: its lines are the input's own.
    expect(reason('a: [', undefined)).toMatch(/^line 1: /);
  });

  it('names every unknown placeholder with the line it is on, and the names there are', () => {
    const text = [
      'text: "{{app}} {{sha}}"',
      'blocks:',
      '  - type: section',
      '    text: { type: mrkdwn, text: "{{ branch }} {{ app }}" }',
    ].join('\n');
    const message = reason(text, 'notice.yml');
    expect(message).toMatch(
      /^unknown placeholders \{\{sha\}\} at notice\.yml:1, \{\{branch\}\} at notice\.yml:4 \(the placeholders are app, environment, .*failed_checks.*\)$/,
    );
  });

  it("catches a workflow's expressions, which nothing expands in a file", () => {
    const message = reason('text: "${{ github.sha }} by {{ env.ACTOR }}"\n', 'notice.yml');
    expect(message).toMatch(
      /^unknown placeholders \{\{github\.sha\}\} at notice\.yml:1, \{\{env\.ACTOR\}\} at notice\.yml:1 \(/,
    );
    expect(message).toContain(
      'expressions such as ${{ github.sha }} are not expanded in a payload: put the value in the "text" input and write {{text}}',
    );
  });

  it('wants a mapping at the top', () => {
    expect(reason('- a\n- b\n', 'notice.yml')).toMatch(/^notice\.yml is not a mapping/);
    expect(reason('', 'empty.json')).toMatch(/^empty\.json is not a mapping/);
  });
});

describe('templateProblems', () => {
  it('message: Block Kit problems, each at the line of the offending value', () => {
    const template = parsed(
      [
        'text: hi',
        'blocks:',
        '  - type: header',
        '    text:',
        '      type: mrkdwn',
        '      text: "{{app}}"',
        '  - type: banner',
      ].join('\n'),
      'notice.yml',
    );
    expect(templateProblems(template, 'message')).toEqual([
      'notice.yml:5: blocks[0].text.type: must be plain_text',
      expect.stringMatching(/^notice\.yml:7: blocks\[1\]\.type: unsupported block type "banner"/),
    ]);
    // A missing property points at the object that lacks it.
    const missing = parsed('{\n  "blocks": [\n    { "type": "section" }\n  ]\n}', 'n.json');
    expect(templateProblems(missing, 'message')).toEqual(['n.json:3: blocks[0]: needs text or fields']);
  });

  it('trigger: a flat map of values; a list or map is refused at its line', () => {
    const flat = parsed('app: "{{app}}"\nreplicas: 3\ncanary: true\nnote:\n');
    expect(templateProblems(flat, 'trigger')).toEqual([]);
    const nested = parsed('app: "{{app}}"\nextra:\n  region: eu\nlist: [a, b]\n', 'vars.yml');
    expect(templateProblems(nested, 'trigger')).toEqual([
      'vars.yml:3: variable "extra" is a map; a Workflow Builder trigger takes only text values (name: value, one level)',
      'vars.yml:4: variable "list" is a list; a Workflow Builder trigger takes only text values (name: value, one level)',
    ]);
    // The same document is a fine trigger payload and no Block Kit message.
    expect(templateProblems(flat, 'message')[0]).toMatch(/^line 1: payload\.app: unknown property/);
  });
});

describe('readPayloadFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'payload-file-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads a file, and says plainly when it cannot', async () => {
    await writeFile(join(dir, 'ok.json'), '{"text": "{{app}}"}');
    const ok = readPayloadFile(join(dir, 'ok.json'), 'ok.json');
    expect(ok.ok && ok.template.value).toEqual({ text: '{{app}}' });
    expect(readPayloadFile(join(dir, 'missing.yml'), 'missing.yml')).toEqual({
      ok: false,
      reason: 'the file does not exist',
    });
    expect(readPayloadFile(dir, '.')).toEqual({ ok: false, reason: 'the path is a folder, not a file' });
    await writeFile(join(dir, 'big.json'), ' '.repeat(MAX_PAYLOAD_FILE_BYTES + 1));
    expect(readPayloadFile(join(dir, 'big.json'), 'big.json')).toEqual({
      ok: false,
      reason: 'the file is larger than 1 MiB',
    });
  });
});
