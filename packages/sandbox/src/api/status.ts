/**
 * Kubernetes `Status` answers. Every failure the API server gives is one of these, shaped and
 * worded as kube-apiserver words them, because clients (client-go, client-node, our own core
 * library) branch on `reason` and `code`.
 */
import { StoreError } from '../store.js';
import type { ResourceType } from '../resources.js';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
  type?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** An error the request pipeline turns into a Status answer. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function failure(code: number, reason: string, message: string, details?: StatusDetails): Status {
  const status: Status = {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  };
  if (details && Object.keys(details).length > 0) status.details = details;
  return status;
}

export function success(details?: StatusDetails): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    ...(details ? { details } : {}),
    code: 200,
  };
}

/** Normalises anything thrown while serving into an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof StoreError) {
    return new ApiError(error.code, error.reason, error.message, error.details);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}

export function toStatus(error: ApiError): Status {
  return failure(error.code, error.reason, error.message, error.details);
}

/** `deployments.apps "web"` / `pods "p"` / `deployments.apps`, as in kube-apiserver messages. */
export function qualifiedResource(t: Pick<ResourceType, 'group' | 'resource'>, name?: string): string {
  const resource = t.group ? `${t.resource}.${t.group}` : t.resource;
  return name ? `${resource} "${name}"` : resource;
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function notFound(t: ResourceType, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(t, name)} not found`, {
    name,
    group: t.group || undefined,
    kind: t.resource,
  });
}

export function methodNotAllowed(): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    'the server does not allow this method on the requested resource',
  );
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType || 'none'})`,
  );
}

/** 422 Invalid with one cause per field, worded like apimachinery's field.ErrorList. */
export function invalid(t: ResourceType, name: string, causes: StatusCause[]): ApiError {
  const texts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  const kind = t.group ? `${t.kind}.${t.group}` : t.kind;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group: t.group || undefined,
    kind: t.kind,
    causes,
  });
}
