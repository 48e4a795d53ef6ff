import { describe, expect, it } from 'vitest';
import { checkMessage } from '../../../sandbox/src/standins/block-kit.js';
import { composeMessage, deployFacts, type NotifySettings } from './notify.js';
import { TRUNCATION_MARKER } from './text.js';

const settings: NotifySettings = {
  destination: { kind: 'webhook', url: 'https://hooks.slack.com/services/T/B/x' },
  status: 'success',
  app: 'shop',
  fields: [],
  mentions: [],
  failOnError: false,
  timeoutMs: 30_000,
};
const env = { GITHUB_REPOSITORY: 'acme/shop', GITHUB_SHA: 'abcdef1234567', GITHUB_RUN_ID: '7' };

describe('deployFacts', () => {
  it('measures the duration from the started message it updates, not for started itself', () => {
    const now = 1_700_000_100_000;
    expect(deployFacts({ ...settings, updateTs: '1700000000.000000' }, env, now).durationMs).toBe(100_000);
    expect(
      deployFacts({ ...settings, status: 'started', updateTs: '1700000000.000000' }, env, now).durationMs,
    ).toBe(undefined);
  });
});

describe('composeMessage', () => {
  it('gives a custom payload without text the notification text, and Slack-sized blocks', () => {
    const payload = {
      blocks: [{ type: 'header', text: { type: 'plain_text', text: '{{app}} '.repeat(40) } }],
    };
    const facts = deployFacts({ ...settings, payload }, env);
    const { message, notes } = composeMessage({ ...settings, payload }, facts);
    expect(message.text).toBe(':white_check_mark: shop deployed');
    const header = (message.blocks as { text: { text: string } }[])[0]!.text.text;
    expect(header.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(notes).toEqual(['message block 1 header shortened to 150 characters']);
    expect(checkMessage(message)).toBeUndefined();
  });

  it('builds the default message when no payload is given', () => {
    const { message } = composeMessage(settings, deployFacts(settings, env));
    expect(message.attachments).toEqual([expect.objectContaining({ color: '#2EB67D' })]);
    expect(checkMessage(message)).toBeUndefined();
  });

  it("gives a trigger its variables: the deploy facts, or the payload's keys filled", () => {
    const trigger: NotifySettings = {
      ...settings,
      destination: { kind: 'trigger', url: 'https://hooks.slack.com/triggers/T/1/x' },
    };
    const facts = deployFacts(trigger, env);
    const fromFacts = composeMessage(trigger, facts);
    expect(fromFacts.message).toMatchObject({ app: 'shop', status: 'success', commit: 'abcdef1234567' });
    expect(fromFacts.notes).toEqual([]);
    const payload = { title: '{{app}} {{status}}', run: '{{run_url}}' };
    expect(composeMessage({ ...trigger, payload }, facts).message).toEqual({
      title: 'shop success',
      run: 'https://github.com/acme/shop/actions/runs/7',
    });
  });
});
