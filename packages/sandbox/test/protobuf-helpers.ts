/**
 * A protobuf encoder driven by the same tables the sandbox decodes with, for the tests: it builds
 * request bodies as a Go client would, and answers kubectl in protobuf so that kubectl's own
 * generated Go code can judge the tables (a wrong field number comes back under the wrong name).
 */
import type { Message, ValueType } from '../src/api/protobuf/schema.js';
import { messageFor, messageNamed } from '../src/api/protobuf.js';
import type { Untyped } from './api-helpers.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

function varint(value: bigint): Buffer {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}

export function tag(number: number, wire: number): Buffer {
  return varint(BigInt(number * 8 + wire));
}

export function lengthDelimited(number: number, bytes: Buffer): Buffer {
  return Buffer.concat([tag(number, 2), varint(BigInt(bytes.length)), bytes]);
}

export function varintField(number: number, value: number | bigint): Buffer {
  return Buffer.concat([tag(number, 0), varint(BigInt(value))]);
}

function wellKnown(name: string, value: Untyped): Buffer {
  switch (name) {
    case 'Time':
    case 'MicroTime': {
      const ms = Date.parse(value as string);
      const seconds = Math.floor(ms / 1000);
      const micros = /\.(\d{6})/.exec(value as string)?.[1];
      const nanos = micros ? Number(micros) * 1000 : 0;
      return Buffer.concat([varintField(1, seconds), ...(nanos ? [varintField(2, nanos)] : [])]);
    }
    case 'Quantity':
      return lengthDelimited(1, Buffer.from(String(value)));
    case 'IntOrString':
      return typeof value === 'number'
        ? Buffer.concat([varintField(1, 0), varintField(2, value)])
        : Buffer.concat([varintField(1, 1), lengthDelimited(3, Buffer.from(String(value)))]);
    case 'FieldsV1':
      return lengthDelimited(1, Buffer.from(JSON.stringify(value)));
    default:
      throw new Error(`no encoding for ${name}`);
  }
}

function encodeValue(number: number, type: ValueType, value: Untyped): Buffer {
  if (type.kind === 'message') return lengthDelimited(number, encodeMessage(value, type.message));
  if (type.kind === 'wellKnown') return lengthDelimited(number, wellKnown(type.name, value));
  switch (type.scalar) {
    case 'string':
      return lengthDelimited(number, Buffer.from(String(value)));
    case 'bytes':
      return lengthDelimited(number, Buffer.from(String(value), 'base64'));
    case 'bool':
      return varintField(number, value ? 1 : 0);
    case 'double': {
      const out = Buffer.alloc(8);
      out.writeDoubleLE(Number(value));
      return Buffer.concat([tag(number, 1), out]);
    }
    default:
      return varintField(number, BigInt(value as number));
  }
}

/** The message for a JSON object; fields the tables lack are an error, so fixtures stay honest. */
export function encodeMessage(json: Untyped, message: Message, strict = true): Buffer {
  const known = new Set<string>();
  const parts: Buffer[] = [];
  for (const field of [...message.fields.values()].sort((a, b) => a.number - b.number)) {
    if (field.inline && field.type.kind === 'message') {
      for (const inner of field.type.message.fields.values()) known.add(inner.name);
      parts.push(lengthDelimited(field.number, encodeMessage(json, field.type.message, false)));
      continue;
    }
    known.add(field.name);
    const value = json?.[field.name];
    if (value === undefined || value === null) continue;
    if (field.map)
      for (const [key, item] of Object.entries(value as Record<string, Untyped>))
        parts.push(
          lengthDelimited(
            field.number,
            Buffer.concat([lengthDelimited(1, Buffer.from(key)), encodeValue(2, field.type, item)]),
          ),
        );
    else if (field.repeated)
      for (const item of value as Untyped[]) parts.push(encodeValue(field.number, field.type, item));
    else parts.push(encodeValue(field.number, field.type, value));
  }
  const stray = Object.keys(json ?? {}).filter((k) => !known.has(k) && k !== 'apiVersion' && k !== 'kind');
  if (strict && stray.length) throw new Error(`${message.name} has no field ${stray.join(', ')}`);
  return Buffer.concat(parts);
}

/** The `k8s\0` magic and runtime.Unknown around a message. */
export function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  const typeMeta = Buffer.concat([
    lengthDelimited(1, Buffer.from(apiVersion)),
    lengthDelimited(2, Buffer.from(kind)),
  ]);
  return Buffer.concat([MAGIC, lengthDelimited(1, typeMeta), lengthDelimited(2, raw)]);
}

/** A whole request or response body, as client-go and kube-apiserver write it. */
export function encodeObject(obj: Untyped): Buffer {
  const message = messageFor(obj.apiVersion, obj.kind);
  if (!message) throw new Error(`no protobuf message for ${obj.apiVersion} ${obj.kind}`);
  return envelope(obj.apiVersion, obj.kind, encodeMessage(obj, message));
}

/** A `<Kind>List` body: ListMeta (field 1) left empty, items as field 2. */
export function encodeList(apiVersion: string, kind: string, items: Untyped[]): Buffer {
  const message = messageNamed(`core.${kind}`);
  const raw = Buffer.concat([
    lengthDelimited(1, Buffer.alloc(0)),
    ...items.map((item) => lengthDelimited(2, encodeMessage(item, message))),
  ]);
  return envelope(apiVersion, `${kind}List`, raw);
}
