/**
 * The diff a person reviews before a change: what applying a manifest does to the live object,
 * without server noise, and with Secret values masked the way `kubectl diff` masks them.
 */
import { createTwoFilesPatch } from 'diff';
import { stringify } from 'yaml';
import { RECORD_ANNOTATION, REVISION_ANNOTATION } from '../kube/annotations.js';
import type { KubeObject } from './manifests.js';

/** A Secret value that is the same on both sides (or has no other side). */
export const SECRET_MASK = '***';
/** A Secret value that changed: the old side... */
export const SECRET_MASK_BEFORE = '*** (before)';
/** ...and the new side, so the diff still shows which key changed. */
export const SECRET_MASK_AFTER = '*** (after)';

// kubectl stores the whole applied object here, Secret values included.
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const SECRET_VALUE_FIELDS = ['data', 'stringData'] as const;

/** A readable diff of what a change does to an object: the parts a person reviews, without server noise. */
export function diffObjects(manifest: KubeObject, live: KubeObject | undefined, result: KubeObject): string {
  const name = `${manifest.kind}/${manifest.metadata.name}`;
  let before = live && reviewable(live);
  let after = reviewable(result);
  if (isSecret(manifest) || isSecret(live) || isSecret(result)) [before, after] = maskSecrets(before, after);
  const beforeText = before ? stringify(before, { sortMapEntries: true }) : '';
  const afterText = stringify(after, { sortMapEntries: true });
  if (beforeText === afterText) return '';
  return createTwoFilesPatch(
    live ? `live ${name}` : '/dev/null',
    `new ${name}`,
    beforeText,
    afterText,
    undefined,
    undefined,
    { context: 3 },
  );
}

type View = Record<string, unknown>;

function reviewable(o: KubeObject): View {
  const { metadata, status: _status, ...rest } = o;
  const {
    managedFields: _m,
    resourceVersion: _r,
    uid: _u,
    creationTimestamp: _c,
    generation: _g,
    ...meta
  } = metadata as Record<string, unknown>;
  const annotations = { ...(meta.annotations as Record<string, string> | undefined) };
  delete annotations[RECORD_ANNOTATION];
  delete annotations[REVISION_ANNOTATION];
  return { ...rest, metadata: { ...meta, annotations } };
}

function isSecret(o: KubeObject | undefined): boolean {
  return o?.kind === 'Secret';
}

/**
 * Both sides with every Secret value replaced by a mask, as `kubectl diff` does: a key whose
 * value changed reads "*** (before)" / "*** (after)", any other key "***". Values are compared
 * before masking, so the diff shows which keys changed and never what they hold.
 */
function maskSecrets(before: View | undefined, after: View): [View | undefined, View] {
  const maskedBefore = before && withoutLastApplied(before);
  const maskedAfter = withoutLastApplied(after);
  for (const field of SECRET_VALUE_FIELDS) {
    const from = before?.[field];
    const to = after[field];
    const [maskedFrom, maskedTo] = maskValues(from, to);
    if (maskedBefore && from !== undefined) maskedBefore[field] = maskedFrom;
    if (to !== undefined) maskedAfter[field] = maskedTo;
  }
  return [maskedBefore, maskedAfter];
}

function maskValues(from: unknown, to: unknown): [unknown, unknown] {
  if ((from === undefined || isMap(from)) && (to === undefined || isMap(to))) {
    const [fromMap, toMap] = [from ?? {}, to ?? {}];
    const maskedFrom: Record<string, string> = {};
    const maskedTo: Record<string, string> = {};
    for (const key of Object.keys(fromMap)) {
      if (!(key in toMap)) maskedFrom[key] = SECRET_MASK;
      else if (sameValue(fromMap[key], toMap[key])) maskedFrom[key] = maskedTo[key] = SECRET_MASK;
      else [maskedFrom[key], maskedTo[key]] = [SECRET_MASK_BEFORE, SECRET_MASK_AFTER];
    }
    for (const key of Object.keys(toMap)) if (!(key in fromMap)) maskedTo[key] = SECRET_MASK;
    return [from && maskedFrom, to && maskedTo];
  }
  // Anything but a map of values (which the API server would reject) is masked whole.
  const changed = from !== undefined && to !== undefined && !sameValue(from, to);
  return [
    from === undefined ? undefined : changed ? SECRET_MASK_BEFORE : SECRET_MASK,
    to === undefined ? undefined : changed ? SECRET_MASK_AFTER : SECRET_MASK,
  ];
}

function withoutLastApplied(view: View): View {
  const metadata = { ...(view.metadata as Record<string, unknown>) };
  const annotations = { ...(metadata.annotations as Record<string, string> | undefined) };
  delete annotations[LAST_APPLIED];
  return { ...view, metadata: { ...metadata, annotations } };
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
