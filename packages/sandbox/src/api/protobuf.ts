/**
 * Just enough of the Kubernetes protobuf encoding to read what kubectl's typed clients send for
 * the kinds it creates from generators (`kubectl create namespace|configmap|secret`): the
 * `k8s\0` envelope (runtime.Unknown) and the fields of those kinds. Other kinds are refused with
 * 415, and kubectl's `create -f` / `apply` send JSON anyway.
 */
import { ApiError } from './status.js';
import type { JsonObject, Json } from './patch.js';

type FieldType = 'string' | 'bytes' | 'int' | 'bool' | 'stringMap' | 'bytesMap' | Schema;

interface FieldSpec {
  name: string;
  type: FieldType;
  repeated?: boolean;
}

type Schema = Record<number, FieldSpec>;

const OWNER_REFERENCE: Schema = {
  1: { name: 'kind', type: 'string' },
  3: { name: 'name', type: 'string' },
  4: { name: 'uid', type: 'string' },
  5: { name: 'apiVersion', type: 'string' },
  6: { name: 'controller', type: 'bool' },
  7: { name: 'blockOwnerDeletion', type: 'bool' },
};

const OBJECT_META: Schema = {
  1: { name: 'name', type: 'string' },
  2: { name: 'generateName', type: 'string' },
  3: { name: 'namespace', type: 'string' },
  5: { name: 'uid', type: 'string' },
  6: { name: 'resourceVersion', type: 'string' },
  11: { name: 'labels', type: 'stringMap' },
  12: { name: 'annotations', type: 'stringMap' },
  13: { name: 'ownerReferences', type: OWNER_REFERENCE, repeated: true },
  14: { name: 'finalizers', type: 'string', repeated: true },
};

const RESOURCE_ATTRIBUTES: Schema = {
  1: { name: 'namespace', type: 'string' },
  2: { name: 'verb', type: 'string' },
  3: { name: 'group', type: 'string' },
  4: { name: 'version', type: 'string' },
  5: { name: 'resource', type: 'string' },
  6: { name: 'subresource', type: 'string' },
  7: { name: 'name', type: 'string' },
};

const KINDS: Record<string, Schema> = {
  SelfSubjectAccessReview: {
    1: { name: 'metadata', type: OBJECT_META },
    2: {
      name: 'spec',
      type: {
        1: { name: 'resourceAttributes', type: RESOURCE_ATTRIBUTES },
        2: {
          name: 'nonResourceAttributes',
          type: { 1: { name: 'path', type: 'string' }, 2: { name: 'verb', type: 'string' } },
        },
      },
    },
  },
  Namespace: {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'spec', type: { 1: { name: 'finalizers', type: 'string', repeated: true } } },
  },
  ConfigMap: {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: 'stringMap' },
    3: { name: 'binaryData', type: 'bytesMap' },
    4: { name: 'immutable', type: 'bool' },
  },
  Secret: {
    1: { name: 'metadata', type: OBJECT_META },
    2: { name: 'data', type: 'bytesMap' },
    3: { name: 'type', type: 'string' },
    4: { name: 'stringData', type: 'stringMap' },
    5: { name: 'immutable', type: 'bool' },
  },
};

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }

  varint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.offset >= this.buffer.length) throw new Error('truncated varint');
      const byte = this.buffer[this.offset++] ?? 0;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  }

  bytes(): Buffer {
    const length = this.varint();
    const out = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 2) this.bytes();
    else if (wireType === 5) this.offset += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
  }
}

function decodeMessage(buffer: Buffer, schema: Schema): JsonObject {
  const reader = new Reader(buffer);
  const out: JsonObject = {};
  while (!reader.done) {
    const tag = reader.varint();
    const field = schema[Math.floor(tag / 8)];
    const wireType = tag % 8;
    if (!field) {
      reader.skip(wireType);
      continue;
    }
    let value: Json;
    if (field.type === 'int' || field.type === 'bool') {
      const n = reader.varint();
      value = field.type === 'bool' ? n !== 0 : n;
    } else {
      const bytes = reader.bytes();
      if (field.type === 'string') value = bytes.toString('utf8');
      else if (field.type === 'bytes') value = bytes.toString('base64');
      else if (field.type === 'stringMap' || field.type === 'bytesMap') {
        const entry = decodeMessage(bytes, {
          1: { name: 'key', type: 'string' },
          2: { name: 'value', type: field.type === 'stringMap' ? 'string' : 'bytes' },
        });
        const map = (out[field.name] as JsonObject | undefined) ?? {};
        map[typeof entry.key === 'string' ? entry.key : ''] = entry.value ?? '';
        out[field.name] = map;
        continue;
      } else value = decodeMessage(bytes, field.type);
    }
    if (field.repeated) out[field.name] = [...((out[field.name] as Json[] | undefined) ?? []), value];
    // Go writes every non-pointer scalar, even when empty; JSON would have omitted it.
    else if (value !== '' && value !== 0 && value !== false) out[field.name] = value;
  }
  return out;
}

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** Decodes a protobuf-encoded object of one of the kinds above; 415 for anything else. */
export function decodeProtobufObject(body: Buffer): JsonObject {
  const unsupported = (detail: string): ApiError =>
    new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (${detail})`,
    );
  if (!body.subarray(0, 4).equals(MAGIC)) throw unsupported('no protobuf envelope');
  const envelope = decodeMessage(body.subarray(4), {
    1: {
      name: 'typeMeta',
      type: { 1: { name: 'apiVersion', type: 'string' }, 2: { name: 'kind', type: 'string' } },
    },
    2: { name: 'raw', type: 'bytes' },
  });
  const typeMeta = (envelope.typeMeta ?? {}) as JsonObject;
  const kind = typeof typeMeta.kind === 'string' ? typeMeta.kind : '';
  const schema = KINDS[kind];
  if (!schema)
    throw unsupported(
      `protobuf is only read for ${Object.keys(KINDS).join(', ')}; send ${kind || 'this kind'} as JSON`,
    );
  const raw = Buffer.from(typeof envelope.raw === 'string' ? envelope.raw : '', 'base64');
  return { apiVersion: typeMeta.apiVersion ?? 'v1', kind, ...decodeMessage(raw, schema) };
}
