/**
 * Kubernetes object names as inputs take them (RFC 1123 labels: namespaces, Deployments, apps,
 * Services), and annotation keys. Light on purpose: input validation loads it.
 */

/** The longest RFC 1123 label, and so the longest Service or namespace name. */
export const KUBE_NAME_MAX = 63;

export const KUBE_NAME = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const KUBE_NAME_FORM =
  'a Kubernetes name: up to 63 lower-case letters, digits and "-", starting and ending with a letter or digit';

/**
 * The rule for a name the action builds other names from by adding suffixes (`<app>-green`): it
 * must leave room for the longest one within the 63 characters, and the message says so.
 */
export function namePrefixRule(suffixes: readonly string[]): {
  readonly max: number;
  readonly form: string;
  readonly check: (name: string) => string | undefined;
} {
  const longest = suffixes.reduce((a, b) => (b.length > a.length ? b : a), '');
  const max = KUBE_NAME_MAX - longest.length;
  const form = `${KUBE_NAME_FORM}, at most ${max} characters so that the names made from it (${suffixes
    .map((suffix) => `<name>${suffix}`)
    .join(', ')}) stay within the ${KUBE_NAME_MAX}-character limit`;
  return { max, form, check: (name) => (name.length > max ? form : undefined) };
}

/** An annotation key's name part, after an optional `prefix/`. */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const ANNOTATION_KEY_FORM =
  'an annotation key: an optional DNS prefix of up to 253 characters and "/", then up to 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit (such as team or acme.com/team)';

/** Whether `key` is a key the API server accepts for an annotation (or a label). */
export function isAnnotationKey(key: string): boolean {
  const slash = key.indexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return false;
  return name.length <= KUBE_NAME_MAX && QUALIFIED_NAME.test(name);
}

/** What the API server accepts for all of an object's annotations together: keys and values, in bytes. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;
