/**
 * E-mail addresses as the inputs take them: `ops@example.com` or `Ops Team <ops@example.com>`.
 * Deliberately narrower than RFC 5322 (no quoted local parts, no comments, no commas or quotes
 * in a display name, ASCII domains): lists are split on commas, and whatever is accepted here
 * goes into headers and the SMTP envelope, so nothing may carry a line break or an angle bracket.
 * No imports: it runs on the start-up path.
 */

export interface MailAddress {
  /** The display name, when given. */
  readonly name?: string;
  /** local@domain. */
  readonly address: string;
}

const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export const ADDRESS_ACCEPTED = 'an e-mail address such as ops@example.com or "Ops Team <ops@example.com>"';

function isAddress(text: string): boolean {
  const at = text.lastIndexOf('@');
  if (at <= 0 || text.length > 254) return false;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  return (
    local.length <= 64 &&
    LOCAL.test(local) &&
    domain.length > 0 &&
    domain.split('.').every((label) => LABEL.test(label))
  );
}

/** The address in `text`, or undefined when it is not one of the two accepted forms. */
export function parseAddress(text: string): MailAddress | undefined {
  const trimmed = text.trim();
  const named = /^([^<>"\\,;:\r\n]*?)\s*<([^<>\s]+)>$/.exec(trimmed);
  if (named) {
    const [, name = '', address = ''] = named;
    if (!isAddress(address)) return undefined;
    return name.trim() === '' ? { address } : { name: name.trim(), address };
  }
  return isAddress(trimmed) ? { address: trimmed } : undefined;
}

/** The address as a header shows it. */
export function formatAddress(address: MailAddress): string {
  return address.name ? `${address.name} <${address.address}>` : address.address;
}

/** The addresses once each (compared without case), in the order first given. */
export function uniqueAddresses(addresses: readonly MailAddress[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { address } of addresses) {
    const key = address.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(address);
  }
  return out;
}
