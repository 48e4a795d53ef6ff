/**
 * Just enough of MIME to read a delivered message the way a mail client does: headers unfolded
 * (RFC 5322) with encoded words decoded (RFC 2047), multipart bodies split on their boundary,
 * and each leaf part's quoted-printable or base64 transfer encoding undone. Written for the
 * tests' assertions, not for arbitrary mail.
 */

export interface MessagePart {
  /** Lower-case media type, e.g. text/plain. */
  type: string;
  /** The Content-Type header as given. */
  contentType: string;
  transferEncoding: string;
  /** The decoded body as text (charset utf-8 is all the tests meet). */
  body: string;
}

export interface ParsedMessage {
  /** Header name (lower case) → each value, unfolded but not decoded. */
  headers: Map<string, string[]>;
  /** The first value of a header, unfolded and with encoded words decoded; undefined when absent. */
  header(name: string): string | undefined;
  /** The leaf parts, in order (a single-part message is one). */
  parts: MessagePart[];
}

function splitHead(raw: string): { head: string; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  if (!match) return { head: raw, body: '' };
  return { head: raw.slice(0, match.index), body: raw.slice(match.index + match[0].length) };
}

function parseHeaders(head: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  // A line starting with white space continues the previous header (folding).
  const unfolded = head.replace(/\r?\n(?=[ \t])/g, '');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, [...(headers.get(name) ?? []), value]);
  }
  return headers;
}

function decodeQuotedPrintable(text: string): Buffer {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    const c = soft[i]!;
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(c, 'utf8'));
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047 encoded words; white space between two of them is not part of the text. */
export function decodeWords(value: string): string {
  return value
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeQuotedPrintable(text.replace(/_/g, ' ')).toString('utf8'),
    );
}

function parameter(contentType: string, name: string): string | undefined {
  const match = new RegExp(`;\\s*${name}="?([^";]+)"?`, 'i').exec(contentType);
  return match?.[1];
}

function leafParts(headers: Map<string, string[]>, body: string): MessagePart[] {
  const contentType = headers.get('content-type')?.[0] ?? 'text/plain; charset=us-ascii';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = parameter(contentType, 'boundary');
    if (!boundary) return [];
    const sections = body.split(
      new RegExp(`\\r?\\n?--${boundary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:--)?[ \\t]*\\r?\\n?`),
    );
    // Before the first boundary is the preamble, after the closing one the epilogue.
    return sections
      .slice(1, -1)
      .filter((section) => section.trim() !== '')
      .flatMap((section) => {
        const { head, body: partBody } = splitHead(section);
        return leafParts(parseHeaders(head), partBody);
      });
  }
  const transferEncoding = (headers.get('content-transfer-encoding')?.[0] ?? '7bit').toLowerCase();
  const decoded =
    transferEncoding === 'quoted-printable'
      ? decodeQuotedPrintable(body).toString('utf8')
      : transferEncoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body;
  return [{ type, contentType, transferEncoding, body: decoded }];
}

export function parseMessage(raw: string): ParsedMessage {
  const { head, body } = splitHead(raw);
  const headers = parseHeaders(head);
  return {
    headers,
    header: (name) => {
      const value = headers.get(name.toLowerCase())?.[0];
      return value === undefined ? undefined : decodeWords(value);
    },
    parts: leafParts(headers, body),
  };
}
