/**
 * HTML escaping for the e-mail body. Every text that reaches the HTML part (inputs, commit
 * messages, report fields) goes through escapeHtml; links only through safeHref, so neither a
 * tag nor a `javascript:` link can be smuggled in.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML text or as a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/** Escaped text whose line breaks show as such. */
export function escapeLines(text: string): string {
  return escapeHtml(text).replace(/\r?\n/g, '<br>\n');
}

/** An http(s) URL escaped for an href, or undefined for anything else (`javascript:`, `data:`...). */
export function safeHref(url: string | undefined): string | undefined {
  if (url === undefined || !URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? escapeHtml(parsed.href) : undefined;
}
