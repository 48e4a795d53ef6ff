/**
 * Block Kit's limits, met by truncating with a marker rather than by an API error: a deploy
 * notice that arrives shortened is worth more than one refused for a long commit message.
 * Applies to the default message and to custom payloads alike.
 */
import { TRUNCATION_MARKER, codePointLength, truncate } from './text.js';

export const SLACK_LIMITS = {
  messageText: 40_000,
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  markdownText: 12_000,
} as const;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Shortens one text object in place; returns whether it had to. */
function fitText(holder: unknown, max: number, where: string, notes: string[]): void {
  if (!isObject(holder) || typeof holder.text !== 'string') return;
  if (holder.text.trim() === '') {
    // Slack refuses empty text (a placeholder that had no value): a dash keeps the block.
    holder.text = '-';
    return;
  }
  if (codePointLength(holder.text) <= max) return;
  holder.text = truncate(holder.text, max, { mrkdwn: holder.type !== 'plain_text' });
  notes.push(`${where} shortened to ${max} characters`);
}

function fitBlock(block: Json, where: string, notes: string[]): void {
  switch (block.type) {
    case 'header':
      fitText(block.text, SLACK_LIMITS.headerText, `${where} header`, notes);
      break;
    case 'section': {
      fitText(block.text, SLACK_LIMITS.sectionText, `${where} section text`, notes);
      if (Array.isArray(block.fields)) {
        if (block.fields.length > SLACK_LIMITS.sectionFields) {
          const dropped = block.fields.length - (SLACK_LIMITS.sectionFields - 1);
          block.fields = [
            ...(block.fields as unknown[]).slice(0, SLACK_LIMITS.sectionFields - 1),
            { type: 'mrkdwn', text: `${dropped} more fields ${TRUNCATION_MARKER}` },
          ];
          notes.push(`${where} section fields cut to ${SLACK_LIMITS.sectionFields}`);
        }
        (block.fields as unknown[]).forEach((field, i) =>
          fitText(field, SLACK_LIMITS.sectionFieldText, `${where} field ${i + 1}`, notes),
        );
      }
      break;
    }
    case 'context':
      if (Array.isArray(block.elements)) {
        if (block.elements.length > SLACK_LIMITS.contextElements) {
          block.elements = block.elements.slice(0, SLACK_LIMITS.contextElements);
          notes.push(`${where} context elements cut to ${SLACK_LIMITS.contextElements}`);
        }
        (block.elements as unknown[]).forEach((element, i) =>
          fitText(element, SLACK_LIMITS.contextText, `${where} context element ${i + 1}`, notes),
        );
      }
      break;
    case 'actions':
      if (Array.isArray(block.elements)) {
        for (const element of block.elements)
          if (isObject(element)) fitText(element.text, SLACK_LIMITS.buttonText, `${where} button`, notes);
      }
      break;
    case 'markdown':
      if (typeof block.text === 'string' && codePointLength(block.text) > SLACK_LIMITS.markdownText) {
        block.text = truncate(block.text, SLACK_LIMITS.markdownText, { mrkdwn: false });
        notes.push(`${where} markdown shortened to ${SLACK_LIMITS.markdownText} characters`);
      }
      break;
  }
}

function fitBlocks(blocks: unknown[], where: string, notes: string[]): unknown[] {
  let list = blocks;
  if (list.length > SLACK_LIMITS.blocks) {
    const dropped = list.length - (SLACK_LIMITS.blocks - 1);
    list = [
      ...list.slice(0, SLACK_LIMITS.blocks - 1),
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: `${dropped} more blocks ${TRUNCATION_MARKER}` }],
      },
    ];
    notes.push(`${where} blocks cut to ${SLACK_LIMITS.blocks}`);
  }
  list.forEach((block, i) => {
    if (isObject(block)) fitBlock(block, `${where} block ${i + 1}`, notes);
  });
  return list;
}

/**
 * A copy of `message` that meets Slack's limits, and a note for each change made (for the log).
 * Top-level blocks and each attachment's blocks are limited separately, as Slack does.
 */
export function enforceLimits<T extends Json>(message: T): { message: T; notes: string[] } {
  const copy = structuredClone(message) as Json;
  const notes: string[] = [];
  if (typeof copy.text === 'string' && codePointLength(copy.text) > SLACK_LIMITS.messageText) {
    copy.text = truncate(copy.text, SLACK_LIMITS.messageText);
    notes.push(`message text shortened to ${SLACK_LIMITS.messageText} characters`);
  }
  if (Array.isArray(copy.blocks)) copy.blocks = fitBlocks(copy.blocks, 'message', notes);
  if (Array.isArray(copy.attachments)) {
    copy.attachments.forEach((attachment, i) => {
      if (isObject(attachment) && Array.isArray(attachment.blocks))
        attachment.blocks = fitBlocks(attachment.blocks, `attachment ${i + 1}`, notes);
    });
  }
  return { message: copy as T, notes };
}
