import { describe, expect, it } from 'vitest';
import { humanDuration } from '../inputs/duration.js';
import { TRUNCATION_MARKER, codePointLength, escapeMrkdwn, truncate } from './text.js';

describe('escapeMrkdwn', () => {
  it('escapes &, < and > (ampersand first, so nothing is escaped twice)', () => {
    expect(escapeMrkdwn('a < b && c > d')).toBe('a &lt; b &amp;&amp; c &gt; d');
    expect(escapeMrkdwn('<!channel> <@U123|x>')).toBe('&lt;!channel&gt; &lt;@U123|x&gt;');
    expect(escapeMrkdwn('&amp;')).toBe('&amp;amp;');
  });

  it('leaves other mrkdwn alone', () => {
    expect(escapeMrkdwn('*bold* _it_ `code` ~x~')).toBe('*bold* _it_ `code` ~x~');
  });
});

describe('truncate', () => {
  it('returns text that fits unchanged', () => {
    expect(truncate('hello', 5)).toBe('hello');
  });

  it('cuts to the limit including the marker', () => {
    const out = truncate('x'.repeat(100), 50);
    expect(codePointLength(out)).toBeLessThanOrEqual(50);
    expect(out.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(out.startsWith('x'.repeat(30))).toBe(true);
  });

  it('counts code points, never splitting an emoji', () => {
    const out = truncate('🚀'.repeat(40), 20);
    expect(codePointLength(out)).toBeLessThanOrEqual(20);
    expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(out.startsWith('🚀🚀🚀')).toBe(true);
  });

  it('never ends inside an entity', () => {
    const text = escapeMrkdwn('&'.repeat(100));
    for (let max = 20; max < 40; max++) {
      const head = truncate(text, max).slice(0, -TRUNCATION_MARKER.length);
      expect(head).toMatch(/^(&amp;)*$/);
    }
  });

  it('never leaves a <link> open', () => {
    const text = `see <https://example.com/${'a'.repeat(80)}|the run> now`;
    const out = truncate(text, 60);
    expect(out).toBe(`see${TRUNCATION_MARKER}`);
  });

  it('keeps < in plain text', () => {
    expect(truncate(`a <b ${'c'.repeat(50)}`, 30, { mrkdwn: false })).toMatch(/^a <b c+/);
  });
});

describe('humanDuration', () => {
  it('reads like people write it', () => {
    expect(humanDuration(42_000)).toBe('42s');
    expect(humanDuration(185_000)).toBe('3m 5s');
    expect(humanDuration(3_720_000)).toBe('1h 2m');
  });
});
