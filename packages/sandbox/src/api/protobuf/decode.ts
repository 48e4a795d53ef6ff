/**
 * Turns a protobuf message into the JSON object the API server would have stored for it, driven
 * by the tables in ./schema.ts. Fields the tables do not know are skipped and reported (with the
 * JSON path of the object they were found in), so the caller can honour `fieldValidation`.
 */
import type { Json, JsonObject } from '../patch.js';
import type { Field, Message, ValueType, WellKnown } from './schema.js';
import { Reader, WIRE_BYTES, WIRE_FIXED64, WIRE_VARINT, WireError } from './wire.js';

export interface DecodeContext {
  /** Fields the tables lack, e.g. `spec.template.spec.containers[0]: field 25 of core.Container`. */
  unknownFields: string[];
}

export class DecodeError extends Error {}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function expectedWireType(type: ValueType): number {
  if (type.kind !== 'scalar') return WIRE_BYTES;
  if (type.scalar === 'string' || type.scalar === 'bytes') return WIRE_BYTES;
  return type.scalar === 'double' ? WIRE_FIXED64 : WIRE_VARINT;
}

function isZero(value: Json | undefined): boolean {
  return value === undefined || value === '' || value === 0 || value === false;
}

/** RFC 3339 as metav1.Time (seconds) and metav1.MicroTime (microseconds) print it. */
function formatTime(seconds: number, nanos: number, fractionDigits: number): string {
  const whole = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (fractionDigits === 0) return `${whole}Z`;
  const fraction = String(Math.floor(nanos / 1000)).padStart(6, '0');
  return `${whole}.${fraction}Z`;
}

function wellKnown(name: WellKnown, bytes: Buffer): Json | undefined {
  const reader = new Reader(bytes);
  const values = new Map<number, bigint | Buffer>();
  while (!reader.done) {
    const tag = reader.uint();
    const wire = tag % 8;
    if (wire === WIRE_VARINT) values.set(Math.floor(tag / 8), reader.varint());
    else if (wire === WIRE_BYTES) values.set(Math.floor(tag / 8), reader.bytes());
    else reader.skip(wire);
  }
  const int = (n: number): number => {
    const v = values.get(n);
    return typeof v === 'bigint' ? Number(BigInt.asIntN(64, v)) : 0;
  };
  const text = (n: number): string => {
    const v = values.get(n);
    return Buffer.isBuffer(v) ? v.toString('utf8') : '';
  };
  switch (name) {
    case 'Time':
    case 'MicroTime':
      // Go marshals a zero time as an empty message; JSON has null, which the store leaves out.
      if (!values.has(1) && !values.has(2)) return undefined;
      return formatTime(int(1), int(2), name === 'Time' ? 0 : 6);
    case 'Quantity':
      return text(1) || '0';
    case 'IntOrString':
      return int(1) === 1 ? text(3) : int(2);
    case 'FieldsV1': {
      const raw = text(1);
      if (!raw) return undefined;
      try {
        return JSON.parse(raw) as Json;
      } catch {
        throw new DecodeError('FieldsV1 is not JSON');
      }
    }
  }
}

function decodeValue(reader: Reader, field: Field, path: string, ctx: DecodeContext): Json | undefined {
  const { type } = field;
  if (type.kind === 'scalar') {
    switch (type.scalar) {
      case 'string':
        return reader.bytes().toString('utf8');
      case 'bytes':
        return reader.bytes().toString('base64');
      case 'bool':
        return reader.varint() !== 0n;
      case 'double':
        return reader.double();
      default:
        return reader.int();
    }
  }
  const bytes = reader.bytes();
  if (type.kind === 'wellKnown') return wellKnown(type.name, bytes);
  return decodeMessage(bytes, type.message, path, ctx);
}

/** A map field is a repeated entry message: key = 1, value = 2. */
function decodeMapEntry(bytes: Buffer, field: Field, path: string, ctx: DecodeContext): [string, Json] {
  const reader = new Reader(bytes);
  let key = '';
  let value: Json | undefined;
  while (!reader.done) {
    const tag = reader.uint();
    const number = Math.floor(tag / 8);
    if (number === 1 && tag % 8 === WIRE_BYTES) key = reader.bytes().toString('utf8');
    else if (number === 2 && tag % 8 === expectedWireType(field.type))
      value = decodeValue(reader, field, `${path}.${key}`, ctx);
    else reader.skip(tag % 8);
  }
  return [key, value ?? zeroOf(field.type)];
}

/** What Go reads for a map value that is not on the wire. */
function zeroOf(type: ValueType): Json {
  if (type.kind === 'message') return {};
  if (type.kind === 'wellKnown') return type.name === 'Quantity' ? '0' : type.name === 'IntOrString' ? 0 : '';
  if (type.scalar === 'string' || type.scalar === 'bytes') return '';
  return type.scalar === 'bool' ? false : 0;
}

/** Packed repeated scalars (proto3 style); Go's proto2 writes them unpacked, but both are valid. */
function decodePacked(bytes: Buffer, field: Field, path: string, ctx: DecodeContext): Json[] {
  const reader = new Reader(bytes);
  const out: Json[] = [];
  while (!reader.done) out.push(decodeValue(reader, field, path, ctx) ?? 0);
  return out;
}

export function decodeMessage(bytes: Buffer, message: Message, path: string, ctx: DecodeContext): JsonObject {
  const reader = new Reader(bytes);
  const out: JsonObject = {};
  try {
    while (!reader.done) {
      const tag = reader.uint();
      const number = Math.floor(tag / 8);
      const wire = tag % 8;
      const field = message.fields.get(number);
      if (!field) {
        ctx.unknownFields.push(`${path || '.'}: field ${number} of ${message.name}`);
        reader.skip(wire);
        continue;
      }
      const at = field.inline ? path : join(path, field.name);
      const expected = expectedWireType(field.type);
      if (field.map) {
        if (wire !== WIRE_BYTES) throw new DecodeError(`${at}: wire type ${wire}, expected a map entry`);
        const [key, value] = decodeMapEntry(reader.bytes(), field, at, ctx);
        const map = (out[field.name] as JsonObject | undefined) ?? {};
        map[key] = value;
        out[field.name] = map;
        continue;
      }
      if (field.repeated) {
        const list = (out[field.name] as Json[] | undefined) ?? [];
        if (wire === WIRE_BYTES && expected !== WIRE_BYTES)
          list.push(...decodePacked(reader.bytes(), field, at, ctx));
        else if (wire === expected) list.push(decodeValue(reader, field, `${at}[${list.length}]`, ctx) ?? '');
        else throw new DecodeError(`${at}: wire type ${wire}, expected ${expected}`);
        out[field.name] = list;
        continue;
      }
      if (wire !== expected) throw new DecodeError(`${at}: wire type ${wire}, expected ${expected}`);
      const value = decodeValue(reader, field, at, ctx);
      if (field.inline) Object.assign(out, value);
      // A later occurrence of a field replaces an earlier one, as protobuf merges singular fields.
      else if (!field.keepZero && isZero(value)) delete out[field.name];
      else if (value !== undefined) out[field.name] = value;
    }
  } catch (error) {
    if (error instanceof WireError) throw new DecodeError(`${path || '.'}: ${error.message}`);
    throw error;
  }
  return out;
}
