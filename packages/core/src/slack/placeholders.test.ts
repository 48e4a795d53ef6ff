import { describe, expect, it } from 'vitest';
import type { DeployFacts } from './message.js';
import { renderPayload, unknownPlaceholders } from './placeholders.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field by the assertions
type Json = any;

const facts: DeployFacts = {
  status: 'failure',
  app: 'shop',
  environment: 'prod',
  version: '1.0.0',
  fields: [],
  mentions: ['U0ABCDEFG1'],
  repository: 'acme/shop',
  commit: {
    sha: 'abcdef1234567',
    url: 'https://github.com/acme/shop/commit/abcdef1234567',
    message: 'a < b & c',
  },
  runUrl: 'https://github.com/acme/shop/actions/runs/1?a=1&b=2',
  actor: 'octocat',
};

describe('placeholders', () => {
  it('fills names anywhere in string values, escaping for mrkdwn', () => {
    const out = renderPayload(
      {
        text: '{{ app }} {{status}} {{mentions}}',
        blocks: [
          {
            type: 'section',
            text: { type: 'mrkdwn', text: '{{commit_message}} <{{commit_url}}|{{commit_short}}>' },
          },
        ],
      },
      facts,
    );
    expect(out.text).toBe('shop failure <@U0ABCDEFG1>');
    expect((out.blocks as Json)[0].text.text).toBe(
      'a &lt; b &amp; c <https://github.com/acme/shop/commit/abcdef1234567|abcdef1>',
    );
  });

  it('does not escape inside plain_text or URL fields', () => {
    const out = renderPayload(
      {
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: '{{commit_message}}' } },
          {
            type: 'actions',
            elements: [{ type: 'button', text: { type: 'plain_text', text: 'Run' }, url: '{{run_url}}' }],
          },
        ],
      },
      facts,
    );
    const [header, actions] = out.blocks as Json[];
    expect(header.text.text).toBe('a < b & c');
    expect(actions.elements[0].url).toBe('https://github.com/acme/shop/actions/runs/1?a=1&b=2');
  });

  it('lists unknown placeholder names', () => {
    expect(unknownPlaceholders({ text: '{{app}} {{sha}}', blocks: [{ x: '{{ nope }}' }] })).toEqual([
      'sha',
      'nope',
    ]);
    expect(unknownPlaceholders({ text: '{{app}} ${{ not.ours }}' })).toEqual([]);
  });
});
