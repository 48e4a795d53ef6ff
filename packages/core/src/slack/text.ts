/**
 * Text for Slack: mrkdwn escaping and truncation that meets Block Kit's limits without breaking
 * what Slack parses (an `&amp;` entity or a `<url|link>` cut in half would render as garbage).
 * Lengths count Unicode code points, as Slack does, so an emoji is never split in two.
 */

/** Appended to every text this action had to shorten, so a reader knows something is missing. */
export const TRUNCATION_MARKER = '… (truncated)';

/** Escapes the three characters Slack's mrkdwn gives meaning to, as Slack asks. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

export interface TruncateOptions {
  /** The text is mrkdwn: never end inside an entity or an unclosed `<link>`. Default true. */
  mrkdwn?: boolean;
  marker?: string;
}

/** `text` if it fits in `max` code points, else its longest safe head plus the marker. */
export function truncate(text: string, max: number, options: TruncateOptions = {}): string {
  if (codePointLength(text) <= max) return text;
  const marker = options.marker ?? TRUNCATION_MARKER;
  const room = Math.max(0, max - codePointLength(marker));
  let head = Array.from(text).slice(0, room).join('');
  if (options.mrkdwn !== false) {
    // An entity cut before its `;` (`&am`), or a `<url|text` cut before its `>`.
    head = head.replace(/&[#a-zA-Z0-9]{0,8}$/, '');
    const open = head.lastIndexOf('<');
    if (open > head.lastIndexOf('>')) head = head.slice(0, open);
  }
  return `${head.trimEnd()}${marker}`;
}
