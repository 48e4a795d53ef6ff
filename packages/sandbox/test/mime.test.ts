/**
 * The tests' MIME reader against what a real composer writes (nodemailer's, the one notify-email
 * uses): if it misread a message, the e2e assertions on delivered mail would mean nothing.
 */
import { describe, expect, it } from 'vitest';
import MailComposer from 'nodemailer/lib/mail-composer';
import { decodeWords, parseMessage } from '../src/mail/mime.js';

describe('parseMessage', () => {
  it('reads back headers (folded, encoded) and each part of a multipart/alternative message', async () => {
    const html = `<p>${'ünïcödé '.repeat(40)}</p>`;
    const text = `Zeile eins — ✅\n${'long line '.repeat(30)}\n=3D is not an escape here`;
    const raw = await new MailComposer({
      from: { name: 'Dëploy Bot', address: 'deploy@example.test' },
      to: ['ops@example.test', { name: 'On Call', address: 'oncall@example.test' }],
      subject: `✅ shop deployed — ${'a long subject '.repeat(6)}`,
      text,
      html,
      textEncoding: 'quoted-printable',
      messageId: '<id-1@example.test>',
      headers: { 'Auto-Submitted': 'auto-generated' },
    })
      .compile()
      .build();
    const message = parseMessage(raw.toString('utf8'));
    expect(message.header('subject')).toBe(`✅ shop deployed — ${'a long subject '.repeat(6)}`);
    expect(message.header('from')).toBe('Dëploy Bot <deploy@example.test>');
    expect(message.header('to')).toBe('ops@example.test, On Call <oncall@example.test>');
    expect(message.header('message-id')).toBe('<id-1@example.test>');
    expect(message.header('auto-submitted')).toBe('auto-generated');
    expect(message.header('x-missing')).toBeUndefined();
    expect(message.parts.map((p) => [p.type, p.transferEncoding])).toEqual([
      ['text/plain', 'quoted-printable'],
      ['text/html', 'quoted-printable'],
    ]);
    expect(message.parts[0]!.body).toBe(text);
    expect(message.parts[1]!.body).toBe(html);
  });

  it('decodes base64 parts and adjacent encoded words', () => {
    const raw = [
      'Subject: =?UTF-8?B?4pyF?= =?UTF-8?Q?_d=C3=A9ploy=C3=A9?=',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('héllo\r\nworld').toString('base64'),
      '',
    ].join('\r\n');
    const message = parseMessage(raw);
    expect(message.header('subject')).toBe('✅ déployé');
    expect(message.parts).toEqual([expect.objectContaining({ type: 'text/plain', body: 'héllo\r\nworld' })]);
    expect(decodeWords('plain text')).toBe('plain text');
  });
});
