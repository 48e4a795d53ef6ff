/**
 * Validates objects before they are stored: the published schemas (kubernetes-models for the
 * built-in kinds, @kubernetes-models/istio and gateway-api for the CRDs), object names, and the
 * few semantic rules our actions would trip over on a real cluster (a Deployment's selector
 * must match its template and cannot change; annotations total at most 256 KiB). Failures
 * become 422 Invalid with field causes.
 */
import { isDeepStrictEqual } from 'node:util';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Endpoints } from 'kubernetes-models/v1/Endpoints';
import { Event } from 'kubernetes-models/v1/Event';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { ReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1beta1/DestinationRule';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { KubeObject } from '../store.js';
import type { ResourceType } from '../resources.js';
import { invalid, type StatusCause } from './status.js';

type Model = new (data: unknown) => { validate(): void };

/**
 * Istio's v1 API is the v1beta1 schema promoted unchanged; the models package publishes only
 * v1beta1, so both versions validate against it.
 */
const MODELS: Record<string, Model> = {
  Namespace: Namespace as unknown as Model,
  Pod: Pod as unknown as Model,
  Service: Service as unknown as Model,
  Endpoints: Endpoints as unknown as Model,
  ConfigMap: ConfigMap as unknown as Model,
  Secret: Secret as unknown as Model,
  Event: Event as unknown as Model,
  'apps/Deployment': Deployment as unknown as Model,
  'apps/ReplicaSet': ReplicaSet as unknown as Model,
  'networking.k8s.io/Ingress': Ingress as unknown as Model,
  'coordination.k8s.io/Lease': Lease as unknown as Model,
  'discovery.k8s.io/EndpointSlice': EndpointSlice as unknown as Model,
  'autoscaling/HorizontalPodAutoscaler': HorizontalPodAutoscaler as unknown as Model,
  'networking.istio.io/VirtualService': VirtualService as unknown as Model,
  'networking.istio.io/DestinationRule': DestinationRule as unknown as Model,
  'gateway.networking.k8s.io/HTTPRoute': HTTPRoute as unknown as Model,
};

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/spec/template/spec/containers/0` → `spec.template.spec.containers[0]`. */
export function fieldPath(instancePath: string): string {
  let out = '';
  for (const raw of instancePath.split('/').filter((p) => p !== '')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function valueAt(obj: unknown, instancePath: string): unknown {
  let current: unknown = obj;
  for (const raw of instancePath.split('/').filter((p) => p !== '')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[raw.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

function causeFromAjv(error: AjvError, obj: unknown): StatusCause {
  const path = error.instancePath ?? '';
  if (error.keyword === 'required') {
    const missingProperty = error.params?.missingProperty;
    const missing = typeof missingProperty === 'string' ? missingProperty : '';
    const base = fieldPath(path);
    return {
      reason: 'FieldValueRequired',
      message: 'Required value',
      field: base ? `${base}.${missing}` : missing,
    };
  }
  const value = JSON.stringify(valueAt(obj, path)) ?? 'null';
  if (error.keyword === 'enum') {
    const allowed = (error.params?.allowedValues as unknown[] | undefined)
      ?.map((v) => JSON.stringify(v))
      .join(', ');
    return {
      reason: 'FieldValueNotSupported',
      message: `Unsupported value: ${value}: supported values: ${allowed ?? ''}`,
      field: fieldPath(path),
    };
  }
  return {
    reason: 'FieldValueInvalid',
    message: `Invalid value: ${value}: ${error.message ?? 'invalid'}`,
    field: fieldPath(path),
  };
}

function schemaCauses(t: ResourceType, obj: KubeObject): StatusCause[] {
  const model = MODELS[t.group ? `${t.group}/${t.kind}` : t.kind];
  if (!model) return [];
  try {
    // The model fills in its own apiVersion, so one schema serves every version we store it under.
    const { apiVersion: _apiVersion, kind: _kind, ...rest } = obj;
    new model(rest).validate();
    return [];
  } catch (error) {
    const errors = (error as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) return [{ reason: 'FieldValueInvalid', message: String(error) }];
    return errors.map((e) => causeFromAjv(e, obj));
  }
}

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** Namespaces are RFC 1123 labels, Services DNS-1035 labels, everything else a subdomain. */
export function nameCauses(kind: string, name: string): StatusCause[] {
  const [pattern, message, max] =
    kind === 'Namespace'
      ? [DNS1123_LABEL, LABEL_MESSAGE, 63]
      : kind === 'Service'
        ? [DNS1035_LABEL, DNS1035_MESSAGE, 63]
        : [DNS1123_SUBDOMAIN, SUBDOMAIN_MESSAGE, 253];
  const causes: StatusCause[] = [];
  if (!pattern.test(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": ${message}`,
      field: 'metadata.name',
    });
  }
  if (name.length > max) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": must be no more than ${max} characters`,
      field: 'metadata.name',
    });
  }
  return causes;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const LABEL_KEY_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function labelCauses(labels: unknown, field: string): StatusCause[] {
  if (!labels || typeof labels !== 'object') return [];
  const causes: StatusCause[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    const [prefix, name] = key.includes('/')
      ? [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)]
      : ['', key];
    if (
      !LABEL_KEY_NAME.test(name) ||
      name.length > 63 ||
      (prefix !== '' && !DNS1123_SUBDOMAIN.test(prefix))
    ) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        field,
      });
    }
    if (typeof value === 'string' && (!LABEL_VALUE.test(value) || value.length > 63)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
        field: `${field}`,
      });
    }
  }
  return causes;
}

/** kube-apiserver's TotalAnnotationSizeLimitB: keys and values together, in bytes. */
const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

function annotationCauses(annotations: unknown): StatusCause[] {
  if (!annotations || typeof annotations !== 'object') return [];
  let total = 0;
  for (const [key, value] of Object.entries(annotations as Record<string, unknown>))
    total += Buffer.byteLength(key) + (typeof value === 'string' ? Buffer.byteLength(value) : 0);
  if (total <= TOTAL_ANNOTATION_SIZE_LIMIT) return [];
  return [
    {
      reason: 'FieldValueTooLong',
      message: `Too long: must have at most ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`,
      field: 'metadata.annotations',
    },
  ];
}

interface LabelSelectorSpec {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

function selectorMatches(selector: LabelSelectorSpec, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const value = labels[e.key] ?? '';
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(value))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(value)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

function workloadCauses(obj: KubeObject, previous: KubeObject | undefined): StatusCause[] {
  const spec = obj.spec as
    | {
        replicas?: number;
        selector?: LabelSelectorSpec;
        template?: { metadata?: { labels?: Record<string, string> } };
      }
    | undefined;
  if (!spec) return [];
  const causes: StatusCause[] = [];
  const selector = spec.selector ?? {};
  const empty =
    Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
  if (empty) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: 'Invalid value: {}: empty selector is invalid for deployment',
      field: 'spec.selector',
    });
  } else if (!selectorMatches(selector, spec.template?.metadata?.labels ?? {})) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(spec.template?.metadata?.labels ?? {})}: \`selector\` does not match template \`labels\``,
      field: 'spec.template.metadata.labels',
    });
  }
  if (typeof spec.replicas === 'number' && spec.replicas < 0) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
      field: 'spec.replicas',
    });
  }
  const before = (previous?.spec as { selector?: unknown } | undefined)?.selector;
  if (previous && before !== undefined && !isDeepStrictEqual(before, spec.selector)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`,
      field: 'spec.selector',
    });
  }
  return causes;
}

/** Throws 422 Invalid when the object may not be stored; `previous` is set on updates. */
export function validateObject(t: ResourceType, obj: KubeObject, previous?: KubeObject): void {
  const name = obj.metadata?.name ?? obj.metadata?.generateName ?? '';
  const causes: StatusCause[] = [];
  if (obj.metadata?.name) causes.push(...nameCauses(t.kind, obj.metadata.name));
  else if (!obj.metadata?.generateName)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  causes.push(...labelCauses(obj.metadata?.labels, 'metadata.labels'));
  causes.push(...annotationCauses(obj.metadata?.annotations));
  causes.push(...schemaCauses(t, obj));
  if (t.kind === 'Deployment' || t.kind === 'ReplicaSet') causes.push(...workloadCauses(obj, previous));
  if (causes.length > 0) throw invalid(t, name, causes);
}
