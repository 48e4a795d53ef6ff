import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress, uniqueAddresses } from './address.js';

describe('parseAddress', () => {
  it.each([
    ['ops@example.com', { address: 'ops@example.com' }],
    ['  ops+deploys@mail.example.co.uk ', { address: 'ops+deploys@mail.example.co.uk' }],
    ['Ops Team <ops@example.com>', { name: 'Ops Team', address: 'ops@example.com' }],
    ['Équipe Ops <ops@example.com>', { name: 'Équipe Ops', address: 'ops@example.com' }],
    ['<ops@example.com>', { address: 'ops@example.com' }],
    ['root@localhost', { address: 'root@localhost' }],
  ])('%s', (text, expected) => {
    expect(parseAddress(text)).toEqual(expected);
  });

  it.each([
    'ops',
    'ops@',
    '@example.com',
    'ops@@example.com',
    'ops@-example.com',
    'ops@example..com',
    '.ops@example.com',
    'ops team@example.com',
    'Ops <ops@example.com',
    '"Doe, Jane" <jane@example.com>',
    'Doe, Jane <jane@example.com>',
    'Ops <ops@example.com>\r\nBcc: evil@example.com',
    'ops@example.com\nBcc: evil@example.com',
    'Evil <evil@example.com> <ops@example.com>',
    `${'a'.repeat(65)}@example.com`,
  ])('refuses %j', (text) => {
    expect(parseAddress(text)).toBeUndefined();
  });
});

describe('formatAddress and uniqueAddresses', () => {
  it('formats with and without a name; keeps the first of addresses equal but for case', () => {
    expect(formatAddress({ name: 'Ops', address: 'ops@example.com' })).toBe('Ops <ops@example.com>');
    expect(formatAddress({ address: 'ops@example.com' })).toBe('ops@example.com');
    expect(
      uniqueAddresses([
        { address: 'ops@example.com' },
        { name: 'On call', address: 'oncall@example.com' },
        { address: 'OPS@example.com' },
      ]),
    ).toEqual(['ops@example.com', 'oncall@example.com']);
  });
});
