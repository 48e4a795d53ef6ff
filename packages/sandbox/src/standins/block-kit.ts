/**
 * Checks a Slack message against Block Kit's documented shapes and limits, the way Slack does
 * before it accepts one, and words the problems as Slack does:
 * `must be less than 151 characters [json-pointer:/blocks/0/text/text]`.
 *
 * Limits from https://docs.slack.dev/reference/block-kit (blocks, block elements, composition
 * objects) and chat.postMessage (text, attachments). Lengths count Unicode code points.
 *
 * Blocks and elements the deploy messages use are checked field by field, unknown fields
 * included (Slack answers `invalid additional property`). Interactive elements that only a
 * hand-written payload would carry (selects, pickers...) are checked for type and action_id only.
 */

export const LIMITS = {
  messageText: 40_000,
  blocks: 50,
  attachments: 100,
  blockId: 255,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  actionsElements: 25,
  buttonText: 75,
  buttonUrl: 3000,
  buttonValue: 2000,
  actionId: 255,
  imageUrl: 3000,
  imageAltText: 2000,
  imageTitle: 2000,
  markdownText: 12_000,
} as const;

export type MessageError =
  'invalid_blocks' | 'invalid_attachments' | 'too_many_attachments' | 'msg_too_long' | 'no_text';

export interface MessageProblem {
  error: MessageError;
  /** Slack's wording, each ending with the JSON pointer of the offending value. */
  errors: string[];
}

/** Elements allowed in an actions block or as a section accessory, besides button and image. */
const OTHER_INTERACTIVE_ELEMENTS = new Set([
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

type Json = Record<string, unknown>;

class Problems {
  readonly list: string[] = [];
  add(pointer: string, message: string): void {
    this.list.push(`${message} [json-pointer:${pointer}]`);
  }
}

function length(text: string): number {
  return Array.from(text).length;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An object with only the allowed keys; reports and returns undefined otherwise. */
function object(value: unknown, pointer: string, allowed: readonly string[], p: Problems): Json | undefined {
  if (!isObject(value)) {
    p.add(pointer, 'must provide an object');
    return undefined;
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) p.add(`${pointer}/${key}`, `invalid additional property: ${key}`);
  }
  return value;
}

function string(
  value: unknown,
  pointer: string,
  p: Problems,
  options: { max: number; required?: boolean },
): void {
  if (value === undefined) {
    if (options.required) p.add(pointer, 'must provide a string');
    return;
  }
  if (typeof value !== 'string') return p.add(pointer, 'must provide a string');
  if (length(value) === 0) return p.add(pointer, 'must be more than 0 characters');
  if (length(value) > options.max) p.add(pointer, `must be less than ${options.max + 1} characters`);
}

function textObject(
  value: unknown,
  pointer: string,
  p: Problems,
  options: { max: number; plainTextOnly?: boolean },
): void {
  const text = object(value, pointer, ['type', 'text', 'emoji', 'verbatim'], p);
  if (!text) return;
  if (text.type !== 'plain_text' && text.type !== 'mrkdwn') {
    p.add(`${pointer}/type`, 'must be one of [plain_text, mrkdwn]');
    return;
  }
  if (options.plainTextOnly && text.type !== 'plain_text') p.add(`${pointer}/type`, 'must be plain_text');
  if (text.type === 'plain_text' && text.verbatim !== undefined)
    p.add(`${pointer}/verbatim`, 'invalid additional property: verbatim');
  if (text.type === 'mrkdwn' && text.emoji !== undefined)
    p.add(`${pointer}/emoji`, 'invalid additional property: emoji');
  for (const flag of ['emoji', 'verbatim'] as const) {
    if (text[flag] !== undefined && typeof text[flag] !== 'boolean')
      p.add(`${pointer}/${flag}`, 'must provide a boolean');
  }
  string(text.text, `${pointer}/text`, p, { max: options.max, required: true });
}

function array(
  value: unknown,
  pointer: string,
  p: Problems,
  options: { min: number; max: number },
): unknown[] | undefined {
  if (!Array.isArray(value)) {
    p.add(pointer, 'must provide an array');
    return undefined;
  }
  if (value.length < options.min) p.add(pointer, `must provide at least ${options.min} items`);
  if (value.length > options.max) p.add(pointer, `no more than ${options.max} items allowed`);
  return value;
}

function imageElement(element: Json, pointer: string, p: Problems): void {
  object(element, pointer, ['type', 'image_url', 'slack_file', 'alt_text'], p);
  imageSource(element, pointer, p);
  string(element.alt_text, `${pointer}/alt_text`, p, { max: LIMITS.imageAltText, required: true });
}

function imageSource(image: Json, pointer: string, p: Problems): void {
  if (image.image_url === undefined && image.slack_file === undefined) {
    p.add(pointer, 'must provide image_url or slack_file');
    return;
  }
  if (image.image_url !== undefined)
    string(image.image_url, `${pointer}/image_url`, p, { max: LIMITS.imageUrl, required: true });
  if (image.slack_file !== undefined && !isObject(image.slack_file))
    p.add(`${pointer}/slack_file`, 'must provide an object');
}

function button(element: Json, pointer: string, p: Problems): void {
  object(
    element,
    pointer,
    ['type', 'text', 'action_id', 'url', 'value', 'style', 'confirm', 'accessibility_label'],
    p,
  );
  textObject(element.text, `${pointer}/text`, p, { max: LIMITS.buttonText, plainTextOnly: true });
  string(element.action_id, `${pointer}/action_id`, p, { max: LIMITS.actionId });
  string(element.url, `${pointer}/url`, p, { max: LIMITS.buttonUrl });
  string(element.value, `${pointer}/value`, p, { max: LIMITS.buttonValue });
  string(element.accessibility_label, `${pointer}/accessibility_label`, p, { max: LIMITS.buttonText });
  if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger')
    p.add(`${pointer}/style`, 'must be one of [primary, danger]');
  if (element.confirm !== undefined && !isObject(element.confirm))
    p.add(`${pointer}/confirm`, 'must provide an object');
}

function interactiveElement(value: unknown, pointer: string, p: Problems, allowImage: boolean): void {
  if (!isObject(value)) return p.add(pointer, 'must provide an object');
  if (value.type === 'button') return button(value, pointer, p);
  if (value.type === 'image' && allowImage) return imageElement(value, pointer, p);
  if (typeof value.type === 'string' && OTHER_INTERACTIVE_ELEMENTS.has(value.type)) {
    string(value.action_id, `${pointer}/action_id`, p, { max: LIMITS.actionId });
    return;
  }
  p.add(`${pointer}/type`, `unsupported element type: ${String(value.type)}`);
}

type BlockCheck = (block: Json, pointer: string, p: Problems) => void;

const BLOCKS: Record<string, BlockCheck> = {
  header(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'text'], p);
    textObject(block.text, `${pointer}/text`, p, { max: LIMITS.headerText, plainTextOnly: true });
  },
  section(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'text', 'fields', 'accessory', 'expand'], p);
    if (block.text === undefined && block.fields === undefined)
      p.add(pointer, 'must provide either text or fields');
    if (block.text !== undefined) textObject(block.text, `${pointer}/text`, p, { max: LIMITS.sectionText });
    if (block.fields !== undefined) {
      const fields = array(block.fields, `${pointer}/fields`, p, { min: 1, max: LIMITS.sectionFields });
      fields?.forEach((field, i) =>
        textObject(field, `${pointer}/fields/${i}`, p, { max: LIMITS.sectionFieldText }),
      );
    }
    if (block.accessory !== undefined) interactiveElement(block.accessory, `${pointer}/accessory`, p, true);
    if (block.expand !== undefined && typeof block.expand !== 'boolean')
      p.add(`${pointer}/expand`, 'must provide a boolean');
  },
  context(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'elements'], p);
    const elements = array(block.elements, `${pointer}/elements`, p, {
      min: 1,
      max: LIMITS.contextElements,
    });
    elements?.forEach((element, i) => {
      const at = `${pointer}/elements/${i}`;
      if (isObject(element) && element.type === 'image') imageElement(element, at, p);
      else textObject(element, at, p, { max: LIMITS.sectionText });
    });
  },
  divider(block, pointer, p) {
    object(block, pointer, ['type', 'block_id'], p);
  },
  actions(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'elements'], p);
    const elements = array(block.elements, `${pointer}/elements`, p, {
      min: 1,
      max: LIMITS.actionsElements,
    });
    elements?.forEach((element, i) => interactiveElement(element, `${pointer}/elements/${i}`, p, false));
  },
  image(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'image_url', 'slack_file', 'alt_text', 'title'], p);
    imageSource(block, pointer, p);
    string(block.alt_text, `${pointer}/alt_text`, p, { max: LIMITS.imageAltText, required: true });
    if (block.title !== undefined)
      textObject(block.title, `${pointer}/title`, p, { max: LIMITS.imageTitle, plainTextOnly: true });
  },
  markdown(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'text'], p);
    string(block.text, `${pointer}/text`, p, { max: LIMITS.markdownText, required: true });
  },
  // Rich text is what Slack's own clients send; its inner tree is only checked for being a list.
  rich_text(block, pointer, p) {
    object(block, pointer, ['type', 'block_id', 'elements'], p);
    array(block.elements, `${pointer}/elements`, p, { min: 1, max: Number.POSITIVE_INFINITY });
  },
};

/** Problems with a `blocks` value (already parsed from JSON), each with its JSON pointer. */
export function checkBlocks(blocks: unknown, pointer = '/blocks'): string[] {
  const p = new Problems();
  const list = array(blocks, pointer, p, { min: 0, max: LIMITS.blocks });
  const blockIds = new Set<string>();
  list?.forEach((block, i) => {
    const at = `${pointer}/${i}`;
    if (!isObject(block)) return p.add(at, 'must provide an object');
    const check = typeof block.type === 'string' ? BLOCKS[block.type] : undefined;
    if (!check) return p.add(`${at}/type`, `unsupported block type: ${String(block.type)}`);
    check(block, at, p);
    if (block.block_id !== undefined) {
      string(block.block_id, `${at}/block_id`, p, { max: LIMITS.blockId });
      if (typeof block.block_id === 'string') {
        if (blockIds.has(block.block_id)) p.add(`${at}/block_id`, `duplicate block_id: ${block.block_id}`);
        blockIds.add(block.block_id);
      }
    }
  });
  return p.list;
}

/** Slack accepts `blocks` and `attachments` as JSON text in form posts; undefined means unparseable. */
function parsedList(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return undefined;
  }
}

function hasText(value: unknown): boolean {
  return typeof value === 'string' && value.trim().length > 0;
}

/**
 * The first reason Slack would refuse this message payload (chat.postMessage, chat.update or an
 * incoming webhook), or undefined when it is acceptable.
 */
export function checkMessage(payload: Json): MessageProblem | undefined {
  const blocks = payload.blocks === undefined ? undefined : parsedList(payload.blocks);
  if (payload.blocks !== undefined) {
    const errors =
      blocks === undefined ? ['must provide an array [json-pointer:/blocks]'] : checkBlocks(blocks);
    if (errors.length > 0) return { error: 'invalid_blocks', errors };
  }
  const attachments = payload.attachments === undefined ? undefined : parsedList(payload.attachments);
  if (payload.attachments !== undefined) {
    if (!Array.isArray(attachments))
      return { error: 'invalid_attachments', errors: ['must provide an array [json-pointer:/attachments]'] };
    if (attachments.length > LIMITS.attachments)
      return {
        error: 'too_many_attachments',
        errors: [`no more than ${LIMITS.attachments} items allowed [json-pointer:/attachments]`],
      };
    const problem = checkAttachments(attachments);
    if (problem) return problem;
  }
  if (typeof payload.text === 'string' && length(payload.text) > LIMITS.messageText)
    return {
      error: 'msg_too_long',
      errors: [`must be less than ${LIMITS.messageText + 1} characters [json-pointer:/text]`],
    };
  const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
  const hasAttachments = Array.isArray(attachments) && attachments.length > 0;
  if (!hasText(payload.text) && !hasBlocks && !hasAttachments)
    return { error: 'no_text', errors: ['must provide text, blocks or attachments [json-pointer:/text]'] };
  return undefined;
}

/** Legacy attachments: checked for shape, and their blocks as Block Kit. */
function checkAttachments(attachments: unknown[]): MessageProblem | undefined {
  const errors: string[] = [];
  attachments.forEach((attachment, i) => {
    const at = `/attachments/${i}`;
    if (!isObject(attachment)) return errors.push(`must provide an object [json-pointer:${at}]`);
    if (attachment.color !== undefined && typeof attachment.color !== 'string')
      errors.push(`must provide a string [json-pointer:${at}/color]`);
    if (attachment.blocks !== undefined) errors.push(...checkBlocks(attachment.blocks, `${at}/blocks`));
  });
  if (errors.length === 0) return undefined;
  // Slack reports broken blocks inside an attachment as invalid_attachments.
  return { error: 'invalid_attachments', errors };
}
