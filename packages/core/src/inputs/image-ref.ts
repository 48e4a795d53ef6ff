/**
 * Container image references, by the grammar of distribution/reference (what the container
 * runtime accepts): [domain[:port]/]path[:tag][@digest]. Checked before any write so that a
 * typo fails the step instead of a rollout stuck in ErrImagePull.
 */
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);

export interface ImageRef {
  /** Everything before the tag and digest: what identifies the image, e.g. ghcr.io/acme/web. */
  repository: string;
  tag?: string;
  digest?: string;
}

export const IMAGE_REF_FORM = 'an image reference such as ghcr.io/acme/web:1.4.2 or web@sha256:<64 hex>';

export function parseImageRef(value: string): ImageRef | undefined {
  if (value.length > 255 + 128 + 80) return undefined;
  const match = REFERENCE.exec(value);
  if (!match) return undefined;
  const [, domain, path, tag, digest] = match;
  // A first component without a dot, colon or "localhost" is a path, not a registry: "web:1" has no domain.
  const repository = domain ? `${domain}/${path}` : path!;
  if (domain && !/[.:]|^localhost$/.test(domain) && domain !== domain.toLowerCase()) return undefined;
  return { repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

export function isImageRef(value: string): boolean {
  return parseImageRef(value) !== undefined;
}
