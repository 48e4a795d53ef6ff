/**
 * Why a PromQL query returned no series, when the query's shape says so, with the fix.
 *
 * The common trap: an error ratio `sum(rate(x{code=~"5.."}[1m])) / sum(rate(x[1m]))`. The
 * numerator's series only exist once a matching request was counted, so while a service has no
 * errors the division has nothing on its left and returns nothing: a healthy service reads as
 * "no data". Falling back to 0 on the left (`or vector(0)`) fixes it without hiding a service
 * with no traffic at all (the denominator still has to exist).
 *
 * A small PromQL reader (expressions, selectors, calls, aggregations, binary operators with
 * their modifiers) finds the shape; anything it cannot read gives no hint rather than a wrong one.
 */

export interface NoDataHint {
  /** The part of the query at fault, as written. */
  culprit: string;
  /** The query with the fix applied. */
  fixed: string;
  /** One sentence: why nothing came back, and the fixed query. */
  text: string;
}

type Matcher = { label: string; op: string; value: string };

type Node = { start: number; end: number } & (
  | { kind: 'selector'; name?: string; matchers: Matcher[] }
  | { kind: 'call'; name: string; args: Node[]; grouped: boolean }
  | { kind: 'binary'; op: string; bool: boolean; lhs: Node; rhs: Node }
  | { kind: 'paren'; inner: Node }
  | { kind: 'unary'; inner: Node }
  | { kind: 'literal' }
);

interface Token {
  type: 'ident' | 'number' | 'string' | 'range' | 'op' | 'punct';
  text: string;
  start: number;
  end: number;
}

class Unreadable extends Error {}

const OPERATORS = ['==', '!=', '<=', '>=', '=~', '!~', '+', '-', '*', '/', '%', '^', '<', '>', '=', '@'];

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < query.length && query[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < query.length && query[j] !== c) j += query[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= query.length) throw new Unreadable();
      tokens.push({ type: 'string', text: query.slice(i + 1, j), start: i, end: j + 1 });
      i = j + 1;
    } else if (c === '[') {
      const j = query.indexOf(']', i);
      if (j < 0) throw new Unreadable();
      tokens.push({ type: 'range', text: query.slice(i, j + 1), start: i, end: j + 1 });
      i = j + 1;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(query.slice(i))!;
      tokens.push({ type: 'ident', text: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      // Numbers and durations (`offset 5m`, `1e3`, `0x1f`).
      const m = /^(?:0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?[a-zA-Z0-9]*)/.exec(query.slice(i));
      if (!m) throw new Unreadable();
      tokens.push({ type: 'number', text: m[0], start: i, end: i + m[0].length });
      i += m[0].length;
    } else if ('(){},'.includes(c)) {
      tokens.push({ type: 'punct', text: c, start: i, end: i + 1 });
      i++;
    } else {
      const op = OPERATORS.find((o) => query.startsWith(o, i));
      if (!op) throw new Unreadable();
      tokens.push({ type: 'op', text: op, start: i, end: i + op.length });
      i += op.length;
    }
  }
  return tokens;
}

const PRECEDENCE: Record<string, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '<': 3,
  '>': 3,
  '<=': 3,
  '>=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  atan2: 5,
  '^': 6,
};
const COMPARISONS = new Set(['==', '!=', '<', '>', '<=', '>=']);
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    const node = this.expression(1);
    if (this.at < this.tokens.length) throw new Unreadable();
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private next(): Token {
    const token = this.tokens[this.at++];
    if (!token) throw new Unreadable();
    return token;
  }

  private accept(text: string): Token | undefined {
    const token = this.peek();
    if (token && token.text === text && token.type !== 'string') return this.next();
    return undefined;
  }

  private expect(text: string): Token {
    const token = this.accept(text);
    if (!token) throw new Unreadable();
    return token;
  }

  private labelList(): void {
    this.expect('(');
    while (!this.accept(')')) {
      this.next();
      this.accept(',');
    }
  }

  private expression(minPrecedence: number): Node {
    let lhs = this.unary();
    for (;;) {
      const token = this.peek();
      const precedence = token && token.type !== 'string' ? PRECEDENCE[token.text] : undefined;
      if (!token || precedence === undefined || precedence < minPrecedence) return lhs;
      this.next();
      const bool = this.accept('bool') !== undefined;
      if (this.accept('on') || this.accept('ignoring')) this.labelList();
      if (this.accept('group_left') || this.accept('group_right'))
        if (this.peek()?.text === '(') this.labelList();
      const rhs = this.expression(token.text === '^' ? precedence : precedence + 1);
      lhs = { kind: 'binary', op: token.text, bool, lhs, rhs, start: lhs.start, end: rhs.end };
    }
  }

  private unary(): Node {
    const sign = this.peek();
    if (sign && sign.type === 'op' && (sign.text === '-' || sign.text === '+')) {
      this.next();
      const inner = this.unary();
      return { kind: 'unary', inner, start: sign.start, end: inner.end };
    }
    return this.postfix(this.primary());
  }

  /** Range, subquery, offset and @ modifiers: part of the operand they follow. */
  private postfix(node: Node): Node {
    for (;;) {
      const token = this.peek();
      if (token?.type === 'range') node = { ...node, end: this.next().end };
      else if (token?.text === 'offset' || token?.text === '@') {
        this.next();
        this.accept('-');
        node = { ...node, end: this.next().end };
        if (this.peek()?.text === '(') node = { ...node, end: this.expect(')').end };
      } else return node;
    }
  }

  private primary(): Node {
    const token = this.next();
    if (token.type === 'number' || token.type === 'string') return { kind: 'literal', ...span(token) };
    if (token.text === '(') {
      const inner = this.expression(1);
      return { kind: 'paren', inner, start: token.start, end: this.expect(')').end };
    }
    if (token.text === '{') return this.selector(undefined, token.start);
    if (token.type !== 'ident') throw new Unreadable();
    let grouped = false;
    if (AGGREGATIONS.has(token.text) && (this.peek()?.text === 'by' || this.peek()?.text === 'without')) {
      this.next();
      this.labelList();
      grouped = true;
    }
    if (this.peek()?.text === '(') {
      this.next();
      const args: Node[] = [];
      while (this.peek()?.text !== ')') {
        args.push(this.expression(1));
        if (!this.accept(',')) break;
      }
      let end = this.expect(')').end;
      if (AGGREGATIONS.has(token.text) && (this.peek()?.text === 'by' || this.peek()?.text === 'without')) {
        this.next();
        this.labelList();
        end = this.tokens[this.at - 1]!.end;
        grouped = true;
      }
      return { kind: 'call', name: token.text, args, grouped, start: token.start, end };
    }
    if (this.accept('{')) return this.selector(token.text, token.start);
    return { kind: 'selector', name: token.text, matchers: [], ...span(token) };
  }

  /** The matchers of a selector whose `{` was read. */
  private selector(name: string | undefined, start: number): Node {
    const matchers: Matcher[] = [];
    let metric = name;
    while (!this.accept('}')) {
      const label = this.next();
      const op = this.peek();
      if (label.type === 'string' && (op?.text === ',' || op?.text === '}')) metric = label.text;
      else {
        const operator = this.next();
        const value = this.next();
        if (operator.type !== 'op' || value.type !== 'string') throw new Unreadable();
        matchers.push({ label: label.text, op: operator.text, value: value.text });
      }
      this.accept(',');
    }
    return {
      kind: 'selector',
      ...(metric !== undefined ? { name: metric } : {}),
      matchers,
      start,
      end: this.tokens[this.at - 1]!.end,
    };
  }
}

function span(token: Token): { start: number; end: number } {
  return { start: token.start, end: token.end };
}

function children(node: Node): Node[] {
  switch (node.kind) {
    case 'call':
      return node.args;
    case 'binary':
      return [node.lhs, node.rhs];
    case 'paren':
    case 'unary':
      return [node.inner];
    default:
      return [];
  }
}

function unwrap(node: Node): Node {
  return node.kind === 'paren' ? unwrap(node.inner) : node;
}

/** The first node, parents before children, that meets `test`. */
function find(node: Node, test: (n: Node) => boolean): Node | undefined {
  if (test(node)) return node;
  for (const child of children(node)) {
    const found = find(child, test);
    if (found) return found;
  }
  return undefined;
}

function some(node: Node, test: (n: Node) => boolean): boolean {
  return find(node, test) !== undefined;
}

/** A status class or error filter: only requests that failed (or only those that did not) are counted. */
function filtersOnStatus(selector: Extract<Node, { kind: 'selector' }>): boolean {
  if (selector.name !== undefined && /error|fail/i.test(selector.name)) return true;
  return selector.matchers.some(
    (m) =>
      m.label !== '__name__' &&
      (/code|status/i.test(m.label) || /^\^?\(?[45](?:\d\d|\.\.|xx)/i.test(m.value)),
  );
}

const COUNTING = new Set(['rate', 'irate', 'increase']);

/** A rate of a status-filtered counter, with no fallback: nothing until the first such request. */
function vanishesWithoutMatches(numerator: Node): boolean {
  const inner = unwrap(numerator);
  if (inner.kind !== 'call') return false;
  if (some(inner, (n) => n.kind === 'binary' && n.op === 'or')) return false;
  return some(
    inner,
    (n) =>
      n.kind === 'call' &&
      COUNTING.has(n.name) &&
      n.args.some((arg) => some(arg, (a) => a.kind === 'selector' && filtersOnStatus(a))),
  );
}

/** A label-less numerator falls back to `vector(0)`; one by label to the denominator times 0, label for label. */
function fallback(query: string, numerator: Node, denominator: Node): string {
  const inner = unwrap(numerator);
  const labelless = inner.kind === 'call' && AGGREGATIONS.has(inner.name) && !inner.grouped;
  if (labelless) return 'vector(0)';
  const den = unwrap(denominator);
  const text = query.slice(den.start, den.end);
  return den.kind === 'call' || den.kind === 'selector' ? `${text} * 0` : `(${text}) * 0`;
}

function divisionHint(query: string, root: Node): NoDataHint | undefined {
  const found = find(root, (n) => n.kind === 'binary' && n.op === '/' && vanishesWithoutMatches(n.lhs));
  if (found?.kind !== 'binary') return undefined;
  const numerator = found.lhs;
  const inner = unwrap(numerator);
  const culprit = query.slice(inner.start, inner.end);
  const replacement = `(${culprit} or ${fallback(query, numerator, found.rhs)})`;
  const fixed = `${query.slice(0, numerator.start)}${replacement}${query.slice(numerator.end)}`;
  return {
    culprit,
    fixed,
    text:
      `the numerator ${culprit} has no series until a matching request is counted, so while there are ` +
      `none (no errors yet) the division returns nothing and a healthy service reads as no data; ` +
      `fall back to 0 in the numerator: ${fixed}`,
  };
}

/** `x > 0.01` keeps only the series that meet it: a query that filters returns nothing when all is well. */
function filterHint(query: string, root: Node): NoDataHint | undefined {
  const top = unwrap(root);
  if (top.kind !== 'binary' || !COMPARISONS.has(top.op) || top.bool) return undefined;
  const culprit = query.slice(top.start, top.end);
  const value = query.slice(top.lhs.start, top.lhs.end);
  return {
    culprit,
    fixed: value,
    text:
      `the comparison ${top.op} keeps only the series that meet it, so the query returns nothing ` +
      `when none does; query the value (${value}) and put the comparison in the check's condition`,
  };
}

/** The hint for a query that returned no series, or undefined when its shape does not explain it. */
export function noDataHint(query: string): NoDataHint | undefined {
  let root: Node;
  try {
    root = new Parser(tokenize(query)).parse();
  } catch (error) {
    if (error instanceof Unreadable) return undefined;
    throw error;
  }
  return divisionHint(query, root) ?? filterHint(query, root);
}

/** A sample's detail when its query returned no series: that, and why when the query's shape says. */
export function noSeriesDetail(query: string): string {
  const hint = noDataHint(query);
  return hint ? `the query returned no series; hint: ${hint.text}` : 'the query returned no series';
}
