/**
 * Reads the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`), which Go
 * clients send: kubectl's generators (`create deployment|service|ingress|configmap|secret|
 * namespace`, `auth can-i`) and any client-go typed client. A body is the `k8s\0` magic, then a
 * runtime.Unknown envelope naming apiVersion and kind, around the object's own message; the
 * tables under ./protobuf/ say how each message maps onto JSON.
 *
 * Every built-in kind the sandbox serves decodes, plus Scale (the scale subresource),
 * DeleteOptions (bodies of typed-client deletes) and SelfSubjectAccessReview. Custom resources
 * have no protobuf form, on a real cluster either: 415, as for any kind not in the tables.
 * Answers stay JSON: clients send `Accept: application/vnd.kubernetes.protobuf,application/json`
 * and read whichever the response's Content-Type says.
 */
import { ApiError, badRequest } from './status.js';
import type { JsonObject } from './patch.js';
import { buildRegistry, type Message } from './protobuf/schema.js';
import { DecodeError, decodeMessage, type DecodeContext } from './protobuf/decode.js';
import { META_V1, RUNTIME } from './protobuf/meta.js';
import { CORE_V1 } from './protobuf/core-v1.js';
import { APPS_V1 } from './protobuf/apps-v1.js';
import { NETWORKING_V1 } from './protobuf/networking-v1.js';
import { AUTOSCALING_V1, AUTOSCALING_V2 } from './protobuf/autoscaling.js';
import { AUTHORIZATION_V1, COORDINATION_V1, DISCOVERY_V1 } from './protobuf/groups.js';

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

const REGISTRY = buildRegistry({
  runtime: RUNTIME,
  meta: META_V1,
  core: CORE_V1,
  apps: APPS_V1,
  networking: NETWORKING_V1,
  autoscaling: AUTOSCALING_V2,
  autoscalingv1: AUTOSCALING_V1,
  discovery: DISCOVERY_V1,
  coordination: COORDINATION_V1,
  authorization: AUTHORIZATION_V1,
});

/** `apiVersion kind` → the message of that kind. */
const KIND_MESSAGES: Readonly<Record<string, string>> = {
  'v1 Namespace': 'core.Namespace',
  'v1 Pod': 'core.Pod',
  'v1 Service': 'core.Service',
  'v1 Endpoints': 'core.Endpoints',
  'v1 ConfigMap': 'core.ConfigMap',
  'v1 Secret': 'core.Secret',
  'v1 Event': 'core.Event',
  'apps/v1 Deployment': 'apps.Deployment',
  'apps/v1 ReplicaSet': 'apps.ReplicaSet',
  'networking.k8s.io/v1 Ingress': 'networking.Ingress',
  'discovery.k8s.io/v1 EndpointSlice': 'discovery.EndpointSlice',
  'coordination.k8s.io/v1 Lease': 'coordination.Lease',
  'autoscaling/v2 HorizontalPodAutoscaler': 'autoscaling.HorizontalPodAutoscaler',
  'autoscaling/v1 Scale': 'autoscalingv1.Scale',
  'authorization.k8s.io/v1 SelfSubjectAccessReview': 'authorization.SelfSubjectAccessReview',
};

/** The `apiVersion kind` pairs a protobuf body may carry (DeleteOptions aside). */
export const PROTOBUF_KINDS: readonly string[] = Object.keys(KIND_MESSAGES);

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** A message of the tables by `package.Name` (`apps.Deployment`, `meta.ObjectMeta`). */
export function messageNamed(name: string): Message {
  const message = REGISTRY.get(name);
  if (!message) throw new Error(`no protobuf message ${name}`);
  return message;
}

/** DeleteOptions is registered in every group version, so its envelope names the client's. */
export function messageFor(apiVersion: string, kind: string): Message | undefined {
  if (kind === 'DeleteOptions') return messageNamed('meta.DeleteOptions');
  const name = KIND_MESSAGES[`${apiVersion} ${kind}`];
  return name === undefined ? undefined : messageNamed(name);
}

function unsupported(detail: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${detail})`,
  );
}

export interface DecodedProtobuf {
  /** The object as JSON, apiVersion and kind included. */
  object: JsonObject;
  /**
   * Fields on the wire that the tables do not declare, as `<json path>: field <n> of <message>`.
   * kube-apiserver's protobuf decoder drops them silently; the sandbox reports them so the
   * handler can apply `fieldValidation` (Strict fails, Warn warns) instead of losing them.
   */
  unknownFields: string[];
}

/** Decodes a protobuf request body; 415 for a kind without a protobuf form, 400 when malformed. */
export function decodeProtobuf(body: Buffer): DecodedProtobuf {
  if (!body.subarray(0, 4).equals(MAGIC)) throw unsupported('no protobuf envelope');
  try {
    const envelope = decodeMessage(body.subarray(4), messageNamed('runtime.Unknown'), '', {
      unknownFields: [],
    });
    const typeMeta = (envelope.typeMeta ?? {}) as JsonObject;
    const apiVersion = typeof typeMeta.apiVersion === 'string' ? typeMeta.apiVersion : '';
    const kind = typeof typeMeta.kind === 'string' ? typeMeta.kind : '';
    if (typeof envelope.contentEncoding === 'string')
      throw unsupported(`content encoding ${envelope.contentEncoding}`);
    const message = messageFor(apiVersion, kind);
    if (!message)
      throw unsupported(
        `protobuf is read for ${PROTOBUF_KINDS.map((k) => k.split(' ')[1]).join(', ')} and DeleteOptions; send ${kind || 'this kind'} as JSON`,
      );
    const raw = Buffer.from(typeof envelope.raw === 'string' ? envelope.raw : '', 'base64');
    const ctx: DecodeContext = { unknownFields: [] };
    const object = { apiVersion, kind, ...decodeMessage(raw, message, '', ctx) };
    return { object, unknownFields: ctx.unknownFields };
  } catch (error) {
    if (error instanceof DecodeError)
      throw badRequest(`the protobuf body of the request could not be decoded: ${error.message}`);
    throw error;
  }
}

/** The object alone, for bodies whose extra fields cannot matter (access reviews). */
export function decodeProtobufObject(body: Buffer): JsonObject {
  return decodeProtobuf(body).object;
}
