import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../../sandbox/src/standins/block-kit.js';
import { blockKitProblems, checkBlockKitMessage, problemPathSegments } from './block-kit.js';

const valid: Record<string, unknown>[] = [
  { text: 'plain' },
  { blocks: [{ type: 'header', text: { type: 'plain_text', text: 'hi', emoji: true } }] },
  {
    text: 'x',
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: '*a*' }, fields: [{ type: 'plain_text', text: 'b' }] },
      { type: 'divider' },
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: 'c' },
          { type: 'image', image_url: 'https://x/i.png', alt_text: 'i' },
        ],
      },
      {
        type: 'actions',
        elements: [
          { type: 'button', text: { type: 'plain_text', text: 'Run' }, url: 'https://x', style: 'danger' },
        ],
      },
      { type: 'image', image_url: 'https://x/i.png', alt_text: 'chart' },
      { type: 'markdown', text: '**hi**' },
    ],
  },
  { attachments: [{ color: '#2EB67D', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x' } }] }] },
];

const invalid: [string, Record<string, unknown>, string][] = [
  [
    'header in mrkdwn',
    { blocks: [{ type: 'header', text: { type: 'mrkdwn', text: 'x' } }] },
    'blocks[0].text.type',
  ],
  ['unknown block type', { blocks: [{ type: 'banner' }] }, 'blocks[0].type'],
  ['section without text or fields', { blocks: [{ type: 'section' }] }, 'blocks[0]'],
  ['unknown block property', { blocks: [{ type: 'divider', colour: 'red' }] }, 'blocks[0].colour'],
  ['text object without type', { blocks: [{ type: 'section', text: { text: 'x' } }] }, 'blocks[0].text.type'],
  ['empty context', { blocks: [{ type: 'context', elements: [] }] }, 'blocks[0].elements'],
  [
    'button with bad style',
    {
      blocks: [
        {
          type: 'actions',
          elements: [{ type: 'button', text: { type: 'plain_text', text: 'x' }, style: 'red' }],
        },
      ],
    },
    'style',
  ],
  ['image without alt text', { blocks: [{ type: 'image', image_url: 'https://x' }] }, 'alt_text'],
  ['blocks not a list', { blocks: { type: 'divider' } }, 'blocks'],
  [
    'duplicate block ids',
    {
      blocks: [
        { type: 'divider', block_id: 'a' },
        { type: 'divider', block_id: 'a' },
      ],
    },
    'block_id',
  ],
  ['nothing to show', { blocks: [] }, 'payload'],
  [
    'broken attachment blocks',
    { attachments: [{ blocks: [{ type: 'nope' }] }] },
    'attachments[0].blocks[0].type',
  ],
];

describe('checkBlockKitMessage', () => {
  it.each(valid.map((m, i) => [i, m] as const))(
    'accepts valid message %i, as the Slack stand-in does',
    (_i, message) => {
      expect(checkBlockKitMessage(message)).toEqual([]);
      expect(checkMessage(message)).toBeUndefined();
    },
  );

  it.each(invalid)('refuses %s, as the Slack stand-in does, naming the path', (_name, message, path) => {
    const problems = checkBlockKitMessage(message);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain(path);
    expect(checkMessage(message)).toBeDefined();
  });

  it('refuses a payload that is not a map', () => {
    expect(checkBlockKitMessage(['x'])).toEqual([expect.stringContaining('must be a map')]);
  });
});

describe('problemPathSegments', () => {
  it('turns a problem path into keys and indexes, the message itself being none', () => {
    expect(problemPathSegments('blocks[0].text.type')).toEqual(['blocks', 0, 'text', 'type']);
    expect(problemPathSegments('attachments[1].blocks[12].elements[0]')).toEqual([
      'attachments',
      1,
      'blocks',
      12,
      'elements',
      0,
    ]);
    expect(problemPathSegments('payload')).toEqual([]);
    expect(problemPathSegments('payload.channel')).toEqual(['channel']);
  });

  it('each path blockKitProblems gives leads into the message', () => {
    const message = { channel: 'C1', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 1 } }] };
    expect(blockKitProblems(message).map((p) => problemPathSegments(p.path))).toEqual([
      ['channel'],
      ['blocks', 0, 'text', 'text'],
    ]);
  });
});
