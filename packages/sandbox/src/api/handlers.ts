/**
 * The verbs on resources and their subresources: get, list, watch, create, update, patch (four
 * flavours), delete and deletecollection, plus status, scale, pods/log and services/proxy.
 * Every write is defaulted, validated and given managedFields before the store sees it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { listKey, type KubeObject, type Store } from '../store.js';
import { RESOURCE_TYPES, apiVersionOf, type ResourceType } from '../resources.js';
import type { ClusterHooks } from '../hooks.js';
import type { FaultRule } from '../faults.js';
import type { ResourceRequest } from './request-info.js';
import { isTrue } from './request-info.js';
import {
  ApiError,
  badRequest,
  invalid,
  methodNotAllowed,
  notFound,
  success,
  unsupportedMediaType,
} from './status.js';
import { objectMatcher } from './selectors.js';
import { validateObject } from './validation.js';
import { pruneFields, unknownFields } from './unknown-fields.js';
import { podSecurityRefusal } from '../pod-security.js';
import { applyDefaults } from './defaults.js';
import { isObject, jsonPatch, mergePatch, parseJsonBody, strategicMerge, type JsonObject } from './patch.js';
import { recordUpdate, serverSideApply } from './managed-fields.js';
import { serveWatch, type ActiveWatch, type PreviousObjects } from './watch.js';
import { proxyToService } from './proxy.js';
import { toTable, wantsTable } from './table.js';
import { PROTOBUF, decodeProtobuf } from './protobuf.js';

export interface ServeDeps {
  store: Store;
  hooks?: ClusterHooks;
  previous: PreviousObjects;
  watches: Set<ActiveWatch>;
  bookmarkIntervalMs: number;
}

export interface ResourceCall {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  info: ResourceRequest;
  readBody: () => Promise<string>;
  readRawBody: () => Promise<Buffer>;
  dryRun: boolean;
  fault: FaultRule | undefined;
}

/** Custom resources take no strategic merge patch, as on a real cluster. */
const CRD_GROUPS = new Set(['networking.istio.io', 'gateway.networking.k8s.io']);

export function sendJson(
  res: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function presenter(t: ResourceType, version: string): (obj: KubeObject) => KubeObject {
  const apiVersion = apiVersionOf(t, version);
  return (obj) => ({ ...obj, apiVersion, kind: t.kind });
}

function managerOf(call: ResourceCall): string {
  const explicit = call.url.searchParams.get('fieldManager');
  if (explicit) return explicit;
  const agent = call.req.headers['user-agent'] ?? 'unknown';
  return agent.split('/')[0] || 'unknown';
}

const OBJECT_MEDIA_TYPES = new Set([
  '',
  'application/json',
  'application/yaml',
  'application/x-yaml',
  'text/yaml',
]);

function parseObjectBody(text: string, contentType: string): KubeObject {
  // CBOR (and protobuf past readObjectBody) is refused with 415, as for any unknown media type.
  if (!OBJECT_MEDIA_TYPES.has(contentType)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
    );
  }
  let parsed: unknown;
  try {
    parsed = contentType.includes('yaml') ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw badRequest(
      `the object provided is unrecognized: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (!isObject(parsed)) throw badRequest('the object provided is unrecognized (must be of type object)');
  const obj = parsed as unknown as KubeObject;
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj;
}

function contentTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/**
 * The object in a create or update body: JSON or YAML, or protobuf from Go clients (kubectl's
 * generators and typed clients). Protobuf fields the sandbox's tables lack go through
 * `fieldValidation` like unknown JSON fields, rather than vanishing.
 */
async function readObjectBody(call: ResourceCall): Promise<KubeObject> {
  const contentType = contentTypeOf(call.req);
  if (contentType !== PROTOBUF) return parseObjectBody(await call.readBody(), contentType);
  const { object, unknownFields } = decodeProtobuf(await call.readRawBody());
  reportUnknownFields(call, unknownFields);
  const obj = object as unknown as KubeObject;
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj;
}

/** Checks apiVersion, kind and namespace in a body against the URL, filling in what is missing. */
function reconcileTypeMeta(obj: KubeObject, call: ResourceCall, requireTypeMeta = false): void {
  const { type: t, version, namespace } = call.info;
  const expected = apiVersionOf(t, version);
  if (requireTypeMeta && (!obj.apiVersion || !obj.kind)) {
    throw badRequest(`${!obj.apiVersion ? 'apiVersion' : 'kind'} must be set`);
  }
  if (
    obj.apiVersion &&
    obj.apiVersion !== expected &&
    !t.versions.some((v) => apiVersionOf(t, v) === obj.apiVersion)
  ) {
    throw badRequest(
      `the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`,
    );
  }
  if (obj.kind && obj.kind !== t.kind) {
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${t.kind})`);
  }
  if (t.namespaced) {
    if (obj.metadata.namespace && obj.metadata.namespace !== namespace) {
      throw badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    obj.metadata.namespace = namespace;
  }
  obj.apiVersion = apiVersionOf(t);
  obj.kind = t.kind;
}

function checkName(obj: KubeObject, name: string | undefined): void {
  if (name !== undefined && obj.metadata.name !== undefined && obj.metadata.name !== name) {
    throw badRequest(
      `the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`,
    );
  }
  if (name !== undefined) obj.metadata.name = name;
}

function storeNamespace(info: ResourceRequest): string | undefined {
  return info.type.namespaced ? info.namespace : undefined;
}

function mustGet(store: Store, info: ResourceRequest): KubeObject {
  const found = store.get(info.type, storeNamespace(info), info.name ?? '');
  if (!found) throw notFound(info.type, info.name ?? '');
  return found;
}

/** Applies a non-apply patch body to `target` according to its content type. */
function applyPatch(target: KubeObject, text: string, contentType: string, t: ResourceType): KubeObject {
  const json = target as unknown as JsonObject;
  switch (contentType) {
    case 'application/merge-patch+json':
      return mergePatch(json, parseJsonBody(text)) as unknown as KubeObject;
    case 'application/json-patch+json':
      return jsonPatch(json, parseJsonBody(text)) as unknown as KubeObject;
    case 'application/strategic-merge-patch+json': {
      if (CRD_GROUPS.has(t.group)) {
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
        );
      }
      const patch = parseJsonBody(text);
      if (!isObject(patch)) throw badRequest('strategic merge patch must be an object');
      return (strategicMerge(json, patch, [], t.kind) ?? {}) as unknown as KubeObject;
    }
    default:
      throw unsupportedMediaType(contentType);
  }
}

/**
 * `fieldValidation` on a write: undeclared fields fail the request with `Strict`, are dropped with a
 * Warning header with `Warn` (the API server's default) and dropped silently with `Ignore`.
 * Server-side apply words its error as kube-apiserver does for an apply configuration.
 */
function checkFields(call: ResourceCall, obj: KubeObject, apply = false): void {
  const t = call.info.type;
  const version = call.info.version ?? t.versions[0] ?? '';
  const unknown = unknownFields(t, version, obj);
  reportUnknownFields(call, unknown, apply);
  pruneFields(obj, unknown);
}

/** Fails the request on unknown fields with `Strict`, warns about them with `Warn`. */
function reportUnknownFields(call: ResourceCall, unknown: string[], apply = false): void {
  if (unknown.length === 0) return;
  const t = call.info.type;
  const version = call.info.version ?? t.versions[0] ?? '';
  const mode = call.url.searchParams.get('fieldValidation') ?? 'Warn';
  if (mode === 'Strict') {
    throw badRequest(
      apply
        ? unknown.map((f) => `.${f}: field not declared in schema`).join(', ')
        : `${t.kind} in version "${version}" cannot be handled as a ${t.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(', ')}`,
    );
  }
  if (mode === 'Warn')
    for (const f of unknown) call.res.appendHeader('Warning', `299 - "unknown field \\"${f}\\""`);
}

const NAMESPACES = RESOURCE_TYPES.find((r) => r.kind === 'Namespace')!;

/**
 * Pod Security admission in a namespace that enforces a level: a Pod that breaks it is refused
 * (403); a Deployment or ReplicaSet whose template breaks it is stored with a "would violate"
 * warning, as kube-apiserver does, and its pods are refused later.
 */
function admitPodSecurity(store: Store, call: ResourceCall, obj: KubeObject): void {
  const kind = call.info.type.kind;
  if (kind !== 'Pod' && kind !== 'Deployment' && kind !== 'ReplicaSet') return;
  const namespace = store.get(NAMESPACES, undefined, obj.metadata.namespace ?? call.info.namespace ?? '');
  const spec =
    kind === 'Pod' ? obj.spec : (obj.spec as { template?: { spec?: unknown } } | undefined)?.template?.spec;
  const refusal = podSecurityRefusal(namespace, spec);
  if (!refusal) return;
  if (kind === 'Pod')
    throw new ApiError(403, 'Forbidden', `pods "${obj.metadata.name ?? ''}" is forbidden: ${refusal}`);
  call.res.appendHeader(
    'Warning',
    `299 - "would ${refusal.replace(/^violates/, 'violate').replace(/"/g, '\\"')}"`,
  );
}

/**
 * What every create, update, patch and apply goes through before the store: field validation
 * (server-side apply did it on the applied configuration already), defaults, the schema and
 * Pod Security admission.
 */
function prepareWrite(
  store: Store,
  call: ResourceCall,
  obj: KubeObject,
  previous: KubeObject | undefined,
  { fieldsChecked = false }: { fieldsChecked?: boolean } = {},
): void {
  const t = call.info.type;
  if (!fieldsChecked) checkFields(call, obj);
  if (!previous && t.subresources?.includes('status') && t.kind !== 'Namespace') delete obj.status;
  applyDefaults(obj);
  validateObject(t, obj, previous);
  admitPodSecurity(store, call, obj);
}

export async function serveResource(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const t = info.type;
  if (t.namespaced && info.namespace === undefined && info.name !== undefined) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  if (!t.namespaced && t.kind !== 'Namespace' && info.namespace !== undefined) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  if (
    t.namespaced &&
    info.namespace === undefined &&
    (info.verb === 'create' || info.verb === 'deletecollection')
  ) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  if (info.subresource !== undefined) return serveSubresource(deps, call);
  switch (info.verb) {
    case 'get': {
      const found = presenter(t, info.version)(mustGet(deps.store, info));
      if (!wantsTable(call.req.headers.accept)) return sendJson(call.res, 200, found);
      const includeObject = call.url.searchParams.get('includeObject');
      return sendJson(
        call.res,
        200,
        toTable(t, [found], found.metadata.resourceVersion ?? '', includeObject),
      );
    }
    case 'list':
      return serveList(deps, call);
    case 'watch':
      return startWatch(deps, call);
    case 'create':
      return serveCreate(deps, call);
    case 'update':
      return serveUpdate(deps, call);
    case 'patch':
      return servePatch(deps, call);
    case 'delete':
      return serveDelete(deps, call);
    case 'deletecollection':
      return serveDeleteCollection(deps, call);
    default:
      throw methodNotAllowed();
  }
}

function serveList(deps: ServeDeps, call: ResourceCall): void {
  const { info, url } = call;
  const t = info.type;
  const matches = objectMatcher(
    url.searchParams.get('labelSelector'),
    url.searchParams.get('fieldSelector'),
    t.kind,
  );
  const { items, resourceVersion } = deps.store.list(t, storeNamespace(info));
  const present = presenter(t, info.version);
  if (wantsTable(call.req.headers.accept)) {
    const rows = items.filter((o) => !matches || matches(o)).map(present);
    return sendJson(call.res, 200, toTable(t, rows, resourceVersion, url.searchParams.get('includeObject')));
  }
  const page = paginate(
    items.filter((o) => !matches || matches(o)),
    resourceVersion,
    url.searchParams.get('limit'),
    url.searchParams.get('continue'),
  );
  sendJson(call.res, 200, {
    kind: t.listKind,
    apiVersion: apiVersionOf(t, info.version),
    metadata: page.metadata,
    items: page.items.map(present),
  });
}

/**
 * `limit` and `continue`, as kube-apiserver pages a list: each page holds at most `limit` items,
 * and `metadata.continue` (opaque: the list's resourceVersion and the last key served) asks for the
 * next; every page reports the first page's resourceVersion, so a watch started from it misses
 * nothing. Pages are read from the current state rather than a snapshot.
 */
function paginate(
  items: KubeObject[],
  resourceVersion: string,
  limitParam: string | null,
  continueParam: string | null,
): { items: KubeObject[]; metadata: Record<string, unknown> } {
  let after: string | undefined;
  if (continueParam) {
    try {
      const token = JSON.parse(Buffer.from(continueParam, 'base64url').toString('utf8')) as {
        rv: string;
        after: string;
      };
      resourceVersion = token.rv;
      after = token.after;
    } catch {
      throw badRequest('continue key is not valid: the list must be restarted without continue');
    }
  }
  // The store lists in listKey order, so the page after `after` is every later key.
  const rest = after === undefined ? items : items.filter((o) => listKey(o) > after);
  const limit = Number(limitParam);
  if (!Number.isInteger(limit) || limit <= 0 || rest.length <= limit)
    return { items: rest, metadata: { resourceVersion } };
  const page = rest.slice(0, limit);
  const next = Buffer.from(JSON.stringify({ rv: resourceVersion, after: listKey(page.at(-1)!) })).toString(
    'base64url',
  );
  return {
    items: page,
    metadata: { resourceVersion, continue: next, remainingItemCount: rest.length - limit },
  };
}

function startWatch(deps: ServeDeps, call: ResourceCall): void {
  const { info, url } = call;
  const t = info.type;
  const q = url.searchParams;
  let fieldSelector = q.get('fieldSelector');
  if (info.name !== undefined)
    fieldSelector = [fieldSelector, `metadata.name=${info.name}`].filter(Boolean).join(',');
  const matches = objectMatcher(q.get('labelSelector'), fieldSelector, t.kind);
  const timeout = q.get('timeoutSeconds');
  const sendInitial = q.get('sendInitialEvents');
  const watch = serveWatch(call.req, call.res, {
    store: deps.store,
    previous: deps.previous,
    type: t,
    namespace: storeNamespace(info),
    present: wantsTable(call.req.headers.accept)
      ? (obj) => {
          const present = presenter(t, info.version);
          const table = toTable(
            t,
            [present(obj)],
            obj.metadata.resourceVersion ?? '',
            q.get('includeObject'),
          );
          return table as KubeObject;
        }
      : presenter(t, info.version),
    matches,
    resourceVersion: q.get('resourceVersion') ?? undefined,
    allowBookmarks: isTrue(q.get('allowWatchBookmarks')),
    sendInitialEvents: sendInitial === null ? undefined : isTrue(sendInitial),
    bookmarkIntervalMs: deps.bookmarkIntervalMs,
    timeoutSeconds: timeout !== null ? Number(timeout) : undefined,
    dropAfterMs: call.fault?.dropWatchAfterMs,
  });
  deps.watches.add(watch);
  call.res.on('close', () => deps.watches.delete(watch));
}

async function serveCreate(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const t = info.type;
  const obj = await readObjectBody(call);
  reconcileTypeMeta(obj, call);
  prepareWrite(deps.store, call, obj, undefined);
  recordUpdate(undefined, obj, managerOf(call), t.kind, apiVersionOf(t, info.version));
  const created = deps.store.create(t, obj, { dryRun: call.dryRun });
  sendJson(call.res, 201, presenter(t, info.version)(created));
}

async function serveUpdate(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const t = info.type;
  const obj = await readObjectBody(call);
  reconcileTypeMeta(obj, call);
  checkName(obj, info.name);
  const current = mustGet(deps.store, info);
  if (obj.metadata.managedFields === undefined && current.metadata.managedFields !== undefined) {
    obj.metadata.managedFields = current.metadata.managedFields;
  }
  prepareWrite(deps.store, call, obj, current);
  recordUpdate(current, obj, managerOf(call), t.kind, apiVersionOf(t, info.version));
  const updated = deps.store.update(t, obj, { dryRun: call.dryRun });
  sendJson(call.res, 200, presenter(t, info.version)(updated));
}

async function servePatch(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info, url } = call;
  const t = info.type;
  const contentType = contentTypeOf(call.req);
  const text = await call.readBody();
  const force = isTrue(url.searchParams.get('force'));
  const apiVersion = apiVersionOf(t, info.version);
  const present = presenter(t, info.version);
  const current = deps.store.get(t, storeNamespace(info), info.name ?? '');

  if (contentType === 'application/apply-patch+yaml') {
    const fieldManager = url.searchParams.get('fieldManager');
    if (!fieldManager)
      throw badRequest('PATCH, application/apply-patch+yaml requires fieldManager to be set');
    const applied = parseObjectBody(text, 'application/yaml');
    reconcileTypeMeta(applied, call, true);
    checkName(applied, info.name);
    checkFields(call, applied, true);
    const next = serverSideApply({
      live: current,
      applied,
      manager: fieldManager,
      force,
      kind: t.kind,
      apiVersion,
    });
    next.apiVersion = apiVersionOf(t);
    next.kind = t.kind;
    prepareWrite(deps.store, call, next, current, { fieldsChecked: true });
    if (!current) {
      const created = deps.store.create(t, next, { dryRun: call.dryRun });
      return sendJson(call.res, 201, present(created));
    }
    next.metadata.resourceVersion = current.metadata.resourceVersion;
    return sendJson(call.res, 200, present(deps.store.update(t, next, { dryRun: call.dryRun })));
  }

  if (force) throw badRequest('force may not be specified for non-apply patch');
  if (!current) throw notFound(t, info.name ?? '');
  const patched = applyPatch(current, text, contentType, t);
  if (!isObject(patched)) throw badRequest('the patch must leave an object');
  if (!isObject(patched.metadata)) patched.metadata = {};
  checkName(patched, info.name);
  reconcileTypeMeta(patched, call);
  prepareWrite(deps.store, call, patched, current);
  recordUpdate(current, patched, managerOf(call), t.kind, apiVersion);
  sendJson(call.res, 200, present(deps.store.update(t, patched, { dryRun: call.dryRun })));
}

interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  dryRun?: string[];
  preconditions?: { uid?: string; resourceVersion?: string };
}

async function deleteOptionsOf(call: ResourceCall): Promise<DeleteOptions> {
  let options: DeleteOptions = {};
  if (contentTypeOf(call.req) === PROTOBUF) {
    // Typed client-go deletes send DeleteOptions as protobuf, even when empty.
    const raw = await call.readRawBody();
    if (raw.length > 0) options = decodeProtobuf(raw).object;
  } else {
    const text = await call.readBody();
    if (text.trim() !== '') {
      const parsed = parseJsonBody(text);
      if (isObject(parsed)) options = parsed;
    }
  }
  const policy = call.url.searchParams.get('propagationPolicy');
  if (policy) options.propagationPolicy = policy;
  if (call.url.searchParams.get('orphanDependents') === 'true') options.orphanDependents = true;
  const grace = call.url.searchParams.get('gracePeriodSeconds');
  if (grace !== null && /^\d+$/.test(grace)) options.gracePeriodSeconds = Number(grace);
  return options;
}

function dependentsOf(store: Store, owner: KubeObject): { type: ResourceType; obj: KubeObject }[] {
  const found: { type: ResourceType; obj: KubeObject }[] = [];
  for (const type of RESOURCE_TYPES) {
    for (const obj of store.list(type).items) {
      if (obj.metadata.ownerReferences?.some((ref) => ref.uid === owner.metadata.uid))
        found.push({ type, obj });
    }
  }
  return found;
}

/** Deletes one object with the requested propagation; dependents go first for Foreground. */
function deleteWithPolicy(
  store: Store,
  t: ResourceType,
  current: KubeObject,
  policy: string,
  gracePeriodSeconds?: number,
): KubeObject {
  if (policy === 'Orphan') {
    for (const { type, obj } of dependentsOf(store, current)) {
      obj.metadata.ownerReferences = obj.metadata.ownerReferences?.filter(
        (ref) => ref.uid !== current.metadata.uid,
      );
      if (obj.metadata.ownerReferences?.length === 0) delete obj.metadata.ownerReferences;
      store.update(type, obj);
    }
  } else if (policy === 'Foreground') {
    for (const { type, obj } of dependentsOf(store, current)) {
      const still = store.get(type, obj.metadata.namespace, obj.metadata.name ?? '');
      if (still) deleteWithPolicy(store, type, still, 'Foreground');
    }
  }
  return store.delete(t, current.metadata.namespace, current.metadata.name ?? '', { gracePeriodSeconds });
}

async function serveDelete(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const t = info.type;
  const options = await deleteOptionsOf(call);
  const dryRun = call.dryRun || (options.dryRun ?? []).includes('All');
  const current = mustGet(deps.store, info);
  const pre = options.preconditions;
  if (pre?.uid && pre.uid !== current.metadata.uid) {
    throw new ApiError(
      409,
      'Conflict',
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid ?? ''}`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw new ApiError(
      409,
      'Conflict',
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion ?? ''}`,
    );
  }
  const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : 'Background');
  if (!['Background', 'Foreground', 'Orphan'].includes(policy)) {
    throw invalid(t, info.name ?? '', [
      {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`,
        field: 'propagationPolicy',
      },
    ]);
  }
  const deleted = dryRun
    ? current
    : deleteWithPolicy(deps.store, t, current, policy, options.gracePeriodSeconds);
  if (t.kind === 'Pod') return sendJson(call.res, 200, presenter(t, info.version)(deleted));
  sendJson(
    call.res,
    200,
    success({
      name: info.name,
      ...(t.group ? { group: t.group } : {}),
      kind: t.resource,
      uid: current.metadata.uid,
    }),
  );
}

async function serveDeleteCollection(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info, url } = call;
  const t = info.type;
  const options = await deleteOptionsOf(call);
  const dryRun = call.dryRun || (options.dryRun ?? []).includes('All');
  const matches = objectMatcher(
    url.searchParams.get('labelSelector'),
    url.searchParams.get('fieldSelector'),
    t.kind,
  );
  const present = presenter(t, info.version);
  const deleted: KubeObject[] = [];
  for (const obj of deps.store.list(t, storeNamespace(info)).items) {
    if (matches && !matches(obj)) continue;
    const still = deps.store.get(t, obj.metadata.namespace, obj.metadata.name ?? '');
    if (!still) continue;
    deleted.push(
      dryRun ? still : deleteWithPolicy(deps.store, t, still, options.propagationPolicy ?? 'Background'),
    );
  }
  sendJson(call.res, 200, {
    kind: t.listKind,
    apiVersion: apiVersionOf(t, info.version),
    metadata: { resourceVersion: String(deps.store.currentRevision) },
    items: deleted.map(present),
  });
}

// ---- subresources -------------------------------------------------------------------------

async function serveSubresource(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const sub = info.subresource ?? '';
  if (!(info.type.subresources ?? []).includes(sub) || info.name === undefined) {
    throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  switch (sub) {
    case 'status':
      return serveStatus(deps, call);
    case 'scale':
      return serveScale(deps, call);
    case 'log':
      if (info.verb !== 'get') throw methodNotAllowed();
      return servePodLog(deps, call);
    case 'proxy': {
      const service = mustGet(deps.store, { ...info, name: serviceNameOf(info.name) });
      return proxyToService(
        call.req,
        call.res,
        deps.hooks,
        service,
        info.name,
        info.proxyPath ?? '/',
        call.url.search,
      );
    }
    default:
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
  }
}

/** `web`, `web:http` and `https:web:443` all name Service `web`. */
function serviceNameOf(nameWithPort: string): string {
  const parts = nameWithPort.split(':');
  return (parts.length === 3 ? parts[1] : parts[0]) ?? nameWithPort;
}

async function serveStatus(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const t = info.type;
  const present = presenter(t, info.version);
  const current = mustGet(deps.store, info);
  let next: KubeObject;
  if (info.verb === 'get') return sendJson(call.res, 200, present(current));
  if (info.verb === 'update') {
    next = await readObjectBody(call);
    reconcileTypeMeta(next, call);
    checkName(next, info.name);
  } else if (info.verb === 'patch') {
    next = applyPatch(current, await call.readBody(), contentTypeOf(call.req), t);
    checkName(next, info.name);
  } else throw methodNotAllowed();
  validateObject(t, { ...current, status: next.status }, current);
  const updated = deps.store.update(t, next, { subresource: 'status', dryRun: call.dryRun });
  sendJson(call.res, 200, present(updated));
}

function selectorString(selector: unknown): string {
  if (!isObject(selector)) return '';
  const terms: string[] = [];
  const labels = isObject(selector.matchLabels) ? selector.matchLabels : {};
  for (const [k, v] of Object.entries(labels))
    terms.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  for (const e of expressions) {
    if (!isObject(e)) continue;
    const values = Array.isArray(e.values)
      ? e.values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',')
      : '';
    const key = typeof e.key === 'string' ? e.key : '';
    if (e.operator === 'In') terms.push(`${key} in (${values})`);
    else if (e.operator === 'NotIn') terms.push(`${key} notin (${values})`);
    else if (e.operator === 'Exists') terms.push(key);
    else if (e.operator === 'DoesNotExist') terms.push(`!${key}`);
  }
  return terms.join(',');
}

function scaleOf(obj: KubeObject): KubeObject {
  const spec = isObject(obj.spec) ? obj.spec : {};
  const status = isObject(obj.status) ? obj.status : {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: typeof spec.replicas === 'number' ? spec.replicas : 1 },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      selector: selectorString(spec.selector),
    },
  };
}

async function serveScale(deps: ServeDeps, call: ResourceCall): Promise<void> {
  const { info } = call;
  const t = info.type;
  const current = mustGet(deps.store, info);
  if (info.verb === 'get') return sendJson(call.res, 200, scaleOf(current));
  let scale: KubeObject;
  if (info.verb === 'update') scale = await readObjectBody(call);
  else if (info.verb === 'patch') {
    const text = await call.readBody();
    const contentType = contentTypeOf(call.req);
    // Scale is a built-in kind without lists, so a strategic merge is a merge patch.
    const effective =
      contentType === 'application/strategic-merge-patch+json' ? 'application/merge-patch+json' : contentType;
    if (effective === 'application/apply-patch+yaml') throw unsupportedMediaType(contentType);
    scale = applyPatch(scaleOf(current), text, effective, t);
  } else throw methodNotAllowed();
  const replicas = (isObject(scale.spec) ? scale.spec : {}).replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    throw new ApiError(
      422,
      'Invalid',
      `Scale.autoscaling "${info.name ?? ''}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
      {
        name: info.name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
            field: 'spec.replicas',
          },
        ],
      },
    );
  }
  const next = structuredClone(current);
  next.spec = { ...(isObject(next.spec) ? next.spec : {}), replicas };
  const wanted = scale.metadata?.resourceVersion;
  if (wanted) next.metadata.resourceVersion = wanted;
  recordUpdate(current, next, managerOf(call), t.kind, apiVersionOf(t, info.version));
  const updated = deps.store.update(t, next, { dryRun: call.dryRun });
  sendJson(call.res, 200, scaleOf(updated));
}

function servePodLog(deps: ServeDeps, call: ResourceCall): void {
  const { info, url } = call;
  const pod = mustGet(deps.store, info);
  const text = deps.hooks?.podLog(info.namespace ?? '', info.name ?? '');
  if (text === undefined) {
    const containers = (
      isObject(pod.spec) && Array.isArray(pod.spec.containers) ? pod.spec.containers : []
    ) as JsonObject[];
    const first = containers[0]?.name;
    const container = url.searchParams.get('container') ?? (typeof first === 'string' ? first : '');
    throw badRequest(
      `container "${container}" in pod "${info.name ?? ''}" is waiting to start: ContainerCreating`,
    );
  }
  const tail = url.searchParams.get('tailLines');
  let body = text;
  if (tail !== null) {
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    body =
      lines.slice(-Math.max(0, Number(tail))).join('\n') + (lines.length > 0 && Number(tail) > 0 ? '\n' : '');
  }
  call.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  call.res.end(body);
}
