import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../../sandbox/src/standins/block-kit.js';
import { SLACK_LIMITS, enforceLimits } from './limits.js';
import { TRUNCATION_MARKER, codePointLength } from './text.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON read field by field by the assertions
type Json = any;

const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });

describe('enforceLimits', () => {
  it('shortens header, section text, fields and context to Block Kit limits with a marker', () => {
    const message = {
      text: 'x',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'H'.repeat(400) } },
        { type: 'section', text: mrkdwn('s'.repeat(5000)), fields: [mrkdwn('f'.repeat(2500))] },
        { type: 'context', elements: [mrkdwn('c'.repeat(4000))] },
      ],
    };
    expect(checkMessage(message)?.error).toBe('invalid_blocks');
    const { message: fitted, notes } = enforceLimits(message);
    expect(checkMessage(fitted)).toBeUndefined();
    expect(notes).toHaveLength(4);
    const [header, section, context] = fitted.blocks as Json[];
    expect(codePointLength(header.text.text)).toBe(SLACK_LIMITS.headerText);
    expect(header.text.text.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(codePointLength(section.text.text)).toBe(SLACK_LIMITS.sectionText);
    expect(codePointLength(section.fields[0].text)).toBe(SLACK_LIMITS.sectionFieldText);
    expect(codePointLength(context.elements[0].text)).toBe(SLACK_LIMITS.contextText);
    // The input is left as it was.
    expect(message.blocks[0]!.text!.text).toHaveLength(400);
  });

  it('keeps 50 blocks, the last saying how many were left out', () => {
    const blocks = Array.from({ length: 70 }, (_, i) => ({ type: 'section', text: mrkdwn(`block ${i}`) }));
    const { message } = enforceLimits({ text: 'x', blocks, attachments: [{ color: '#000', blocks }] });
    expect(checkMessage(message)).toBeUndefined();
    const kept = message.blocks as Json[];
    expect(kept).toHaveLength(50);
    expect(kept[49].elements[0].text).toBe(`21 more blocks ${TRUNCATION_MARKER}`);
    expect((message.attachments as Json[])[0].blocks).toHaveLength(50);
  });

  it('keeps at most 10 fields per section', () => {
    const fields = Array.from({ length: 14 }, (_, i) => mrkdwn(`f${i}`));
    const { message } = enforceLimits({ blocks: [{ type: 'section', fields }] });
    const kept = (message.blocks as Json[])[0].fields;
    expect(kept).toHaveLength(10);
    expect(kept[9].text).toContain('5 more fields');
    expect(checkMessage({ text: 'x', ...message })).toBeUndefined();
  });

  it('replaces empty text, which Slack refuses, with a dash', () => {
    const { message } = enforceLimits({ text: 'x', blocks: [{ type: 'section', text: mrkdwn('  ') }] });
    expect((message.blocks as Json[])[0].text.text).toBe('-');
    expect(checkMessage(message)).toBeUndefined();
  });

  it('shortens an over-long notification text', () => {
    const { message } = enforceLimits({ text: 'y'.repeat(50_000) });
    expect(codePointLength(message.text)).toBe(SLACK_LIMITS.messageText);
  });
});
