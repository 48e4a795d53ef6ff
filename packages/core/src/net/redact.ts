/** URL redaction on its own, with no imports: input validation and error messages load it on the start-up path. */

/**
 * The one form in which a URL reaches a message, log, summary or record: scheme, host and path.
 * Userinfo carries passwords, and the query string and fragment carry tokens, API keys and
 * signatures (`?token=`, `?api_key=`, `?sig=`...), so all three are left out whatever their names.
 * Text without a host (`prometheus:9090`, a typo) is shown as it is only when it has no place for
 * a credential: `admin:pass@prom:9090` parses as scheme "admin", and is not shown.
 */
export function redactUrl(url: string, baseURL?: string): string {
  const parsed = URL.canParse(url, baseURL) ? new URL(url, baseURL) : undefined;
  if (parsed?.host) {
    const hidden = parsed.username || parsed.password || parsed.search || parsed.hash;
    // Unchanged when nothing is hidden, so that a message shows the URL as the user wrote it.
    return hidden || baseURL ? `${parsed.protocol}//${parsed.host}${parsed.pathname}` : url;
  }
  return /[@?#]/.test(url) ? '(a URL without a host, not shown)' : url;
}
