/**
 * Structural check of a custom Block Kit message before anything is sent, so a broken `payload`
 * input fails the step at validation with the path of each problem, not later as Slack's
 * `invalid_blocks`. Lengths are not checked here: enforceLimits truncates them.
 * Rules from https://docs.slack.dev/reference/block-kit (blocks, elements, composition objects).
 */
type Json = Record<string, unknown>;

const MESSAGE_KEYS = [
  'text',
  'blocks',
  'attachments',
  'mrkdwn',
  'unfurl_links',
  'unfurl_media',
  'username',
  'icon_emoji',
  'icon_url',
  'reply_broadcast',
  'metadata',
  'link_names',
  'parse',
] as const;

const INTERACTIVE = new Set([
  'button',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'overflow',
  'radio_buttons',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'timepicker',
  'workflow_button',
]);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One problem: where in the message (`blocks[0].text.type`; `payload` is the message itself) and what. */
export interface BlockKitProblem {
  readonly path: string;
  readonly text: string;
}

class Problems {
  readonly list: BlockKitProblem[] = [];
  add(path: string, text: string): void {
    this.list.push({ path, text });
  }
}

function keys(value: Json, path: string, allowed: readonly string[], p: Problems): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) p.add(`${path}.${key}`, `unknown property (allowed: ${allowed.join(', ')})`);
}

function textObject(value: unknown, path: string, p: Problems, plainOnly = false): void {
  if (!isObject(value)) return p.add(path, 'must be a text object { type: plain_text or mrkdwn, text }');
  keys(value, path, ['type', 'text', 'emoji', 'verbatim'], p);
  if (value.type !== 'plain_text' && value.type !== 'mrkdwn')
    return p.add(`${path}.type`, 'must be plain_text or mrkdwn');
  if (plainOnly && value.type !== 'plain_text') p.add(`${path}.type`, 'must be plain_text');
  if (value.type === 'mrkdwn' && value.emoji !== undefined)
    p.add(`${path}.emoji`, 'only plain_text takes emoji');
  if (value.type === 'plain_text' && value.verbatim !== undefined)
    p.add(`${path}.verbatim`, 'only mrkdwn takes verbatim');
  if (typeof value.text !== 'string') p.add(`${path}.text`, 'must be a string');
}

function list(value: unknown, path: string, p: Problems, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) {
    p.add(path, 'must be a list');
    return [];
  }
  if (value.length < min) p.add(path, `needs at least ${min} item(s)`);
  if (value.length > max) p.add(path, `takes at most ${max} items`);
  return value;
}

function image(value: Json, path: string, p: Problems): void {
  if (value.image_url === undefined && value.slack_file === undefined)
    p.add(path, 'needs image_url or slack_file');
  if (value.image_url !== undefined && typeof value.image_url !== 'string')
    p.add(`${path}.image_url`, 'must be a string');
  if (typeof value.alt_text !== 'string') p.add(`${path}.alt_text`, 'must be a string');
}

function element(value: unknown, path: string, p: Problems, allowImage: boolean): void {
  if (!isObject(value)) return p.add(path, 'must be an object');
  if (value.type === 'image' && allowImage) {
    keys(value, path, ['type', 'image_url', 'slack_file', 'alt_text'], p);
    return image(value, path, p);
  }
  if (typeof value.type !== 'string' || !INTERACTIVE.has(value.type))
    return p.add(`${path}.type`, `unsupported element type: ${String(value.type)}`);
  if (value.type !== 'button') return;
  keys(
    value,
    path,
    ['type', 'text', 'action_id', 'url', 'value', 'style', 'confirm', 'accessibility_label'],
    p,
  );
  textObject(value.text, `${path}.text`, p, true);
  if (value.url !== undefined && typeof value.url !== 'string') p.add(`${path}.url`, 'must be a string');
  if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger')
    p.add(`${path}.style`, 'must be primary or danger');
}

const BLOCKS: Record<string, (block: Json, path: string, p: Problems) => void> = {
  header(block, path, p) {
    keys(block, path, ['type', 'block_id', 'text'], p);
    textObject(block.text, `${path}.text`, p, true);
  },
  section(block, path, p) {
    keys(block, path, ['type', 'block_id', 'text', 'fields', 'accessory', 'expand'], p);
    if (block.text === undefined && block.fields === undefined) p.add(path, 'needs text or fields');
    if (block.text !== undefined) textObject(block.text, `${path}.text`, p);
    if (block.fields !== undefined)
      list(block.fields, `${path}.fields`, p, 1, Number.POSITIVE_INFINITY).forEach((field, i) =>
        textObject(field, `${path}.fields[${i}]`, p),
      );
    if (block.accessory !== undefined) element(block.accessory, `${path}.accessory`, p, true);
  },
  context(block, path, p) {
    keys(block, path, ['type', 'block_id', 'elements'], p);
    list(block.elements, `${path}.elements`, p, 1, Number.POSITIVE_INFINITY).forEach((item, i) => {
      const at = `${path}.elements[${i}]`;
      if (isObject(item) && item.type === 'image') element(item, at, p, true);
      else textObject(item, at, p);
    });
  },
  divider(block, path, p) {
    keys(block, path, ['type', 'block_id'], p);
  },
  actions(block, path, p) {
    keys(block, path, ['type', 'block_id', 'elements'], p);
    list(block.elements, `${path}.elements`, p, 1, 25).forEach((item, i) =>
      element(item, `${path}.elements[${i}]`, p, false),
    );
  },
  image(block, path, p) {
    keys(block, path, ['type', 'block_id', 'image_url', 'slack_file', 'alt_text', 'title'], p);
    image(block, path, p);
    if (block.title !== undefined) textObject(block.title, `${path}.title`, p, true);
  },
  markdown(block, path, p) {
    keys(block, path, ['type', 'block_id', 'text'], p);
    if (typeof block.text !== 'string') p.add(`${path}.text`, 'must be a string');
  },
  rich_text(block, path, p) {
    keys(block, path, ['type', 'block_id', 'elements'], p);
    list(block.elements, `${path}.elements`, p, 1, Number.POSITIVE_INFINITY);
  },
};

function blocks(value: unknown, path: string, p: Problems): void {
  const seen = new Set<string>();
  list(value, path, p, 0, Number.POSITIVE_INFINITY).forEach((block, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(block)) return p.add(at, 'must be an object');
    const check = typeof block.type === 'string' ? BLOCKS[block.type] : undefined;
    if (!check)
      return p.add(
        `${at}.type`,
        `unsupported block type ${JSON.stringify(block.type)} (known: ${Object.keys(BLOCKS).join(', ')})`,
      );
    check(block, at, p);
    if (block.block_id !== undefined) {
      if (typeof block.block_id !== 'string') p.add(`${at}.block_id`, 'must be a string');
      else if (seen.has(block.block_id)) p.add(`${at}.block_id`, `duplicate block_id ${block.block_id}`);
      else seen.add(block.block_id);
    }
  });
}

/** Every structural problem of a message payload, each as `path: what is wrong`; empty when fine. */
export function checkBlockKitMessage(message: unknown): string[] {
  return blockKitProblems(message).map((problem) => `${problem.path}: ${problem.text}`);
}

/**
 * The path of a problem as keys and indexes into the message: `blocks[0].text` → blocks, 0,
 * text; `payload` (the message itself) → none.
 */
export function problemPathSegments(path: string): (string | number)[] {
  const segments: (string | number)[] = [];
  for (const part of path.split('.')) {
    const [, name = '', indexes = ''] = /^([^[]*)((?:\[\d+\])*)$/.exec(part) ?? [];
    if (name !== '') segments.push(name);
    for (const index of indexes.matchAll(/\[(\d+)\]/g)) segments.push(Number(index[1]));
  }
  return segments[0] === 'payload' ? segments.slice(1) : segments;
}

/** Every structural problem of a message payload, with its path; empty when fine. */
export function blockKitProblems(message: unknown): BlockKitProblem[] {
  const p = new Problems();
  if (!isObject(message)) {
    p.add('payload', 'must be a map (an object with text, blocks and/or attachments)');
    return p.list;
  }
  keys(message, 'payload', MESSAGE_KEYS, p);
  if (message.text !== undefined && typeof message.text !== 'string') p.add('text', 'must be a string');
  if (message.blocks !== undefined) blocks(message.blocks, 'blocks', p);
  if (message.attachments !== undefined) {
    list(message.attachments, 'attachments', p, 0, 100).forEach((attachment, i) => {
      const at = `attachments[${i}]`;
      if (!isObject(attachment)) return p.add(at, 'must be an object');
      if (attachment.color !== undefined && typeof attachment.color !== 'string')
        p.add(`${at}.color`, 'must be a string');
      if (attachment.blocks !== undefined) blocks(attachment.blocks, `${at}.blocks`, p);
    });
  }
  const has = (v: unknown): boolean =>
    typeof v === 'string' ? v.trim() !== '' : Array.isArray(v) && v.length > 0;
  if (!has(message.text) && !has(message.blocks) && !has(message.attachments))
    p.add('payload', 'needs text, blocks or attachments');
  return p.list;
}
