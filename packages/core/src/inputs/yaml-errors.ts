/**
 * YAML problems in words that never quote the file. The `yaml` library's messages end in a code
 * frame (the offending line, with a caret), and a few of its one-line messages quote a token, a tag
 * or an escape from the source. A file an input names may not be ours at all (`config:
 * /etc/passwd`), so an error may say file, line, column and key, never the text.
 */
import type { Document, Node } from 'yaml';

interface YamlErrorLike {
  readonly message: string;
  readonly linePos?: readonly { line: number; col: number }[];
}

/**
 * Aliases a document may expand before it is refused as an alias bomb ("billion laughs"): the
 * `yaml` library's own default, set here so that no caller can lose it by passing options.
 */
export const MAX_ALIAS_COUNT = 100;

/** The library's words, without the code frame and without any part that quotes the source. */
export function plainYamlWords(message: string): string {
  const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  // "Unresolved tag: !x", "Block scalar header includes extra characters: x", "Unresolved alias
  // (...): x": what follows the colon is the file's.
  const cut = first.indexOf(': ');
  const head = cut === -1 ? first : first.slice(0, cut);
  return head
    .replace(/^(Invalid escape sequence|Unknown directive|Unsupported YAML version) .*$/, '$1')
    .replace(
      /^Unexpected (?!,|empty item ).+ in (flow map|flow sequence|collection)$/,
      'Unexpected token in $1',
    );
}

/** The parser's complaint, without the source excerpt that follows it in its message. */
export function yamlErrorWhat(error: YamlErrorLike): string {
  return plainYamlWords(error.message);
}

/** `line 3, column 7: <the parser's complaint>`, so the user can find the spot. */
export function yamlErrorText(error: YamlErrorLike): string {
  const where = error.linePos?.[0];
  return where ? `line ${where.line}, column ${where.col}: ${yamlErrorWhat(error)}` : yamlErrorWhat(error);
}

export type PlainValue =
  { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly reason: string };

/**
 * A parsed document (or one node of it) as plain data. Expanding aliases is where an alias bomb
 * goes off: the library stops it past MAX_ALIAS_COUNT with an exception that names no file, so
 * the failure comes back as a reason for the caller to put its file and line to.
 */
export function toPlain(doc: Document, node?: Node): PlainValue {
  try {
    const value: unknown = node
      ? node.toJS(doc, { maxAliasCount: MAX_ALIAS_COUNT })
      : doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return { ok: true, value };
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (message.startsWith('Excessive alias count')) {
      return {
        ok: false,
        reason: `its aliases expand past ${MAX_ALIAS_COUNT} copies, which is refused as an alias bomb`,
      };
    }
    return { ok: false, reason: message ? plainYamlWords(message) : 'the document cannot be read' };
  }
}
