/** The protobuf wire format: varints, length-delimited bytes, fixed 32/64-bit values. */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export class WireError extends Error {}

export class Reader {
  private offset = 0;
  constructor(private readonly buffer: Buffer) {}

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }

  /** An unsigned varint of up to 64 bits. */
  varint(): bigint {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (this.offset >= this.buffer.length) throw new WireError('truncated varint');
      const byte = this.buffer[this.offset++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new WireError('varint longer than 10 bytes');
  }

  /** Tags and lengths: unsigned and small enough for a number. */
  uint(): number {
    const value = this.varint();
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('length out of range');
    return Number(value);
  }

  /** Go's int32 and int64 go on the wire as two's-complement 64-bit varints. */
  int(): number {
    return Number(BigInt.asIntN(64, this.varint()));
  }

  double(): number {
    return this.take(8).readDoubleLE(0);
  }

  bytes(): Buffer {
    return this.take(this.uint());
  }

  skip(wireType: number): void {
    if (wireType === WIRE_VARINT) this.varint();
    else if (wireType === WIRE_FIXED64) this.take(8);
    else if (wireType === WIRE_BYTES) this.bytes();
    else if (wireType === WIRE_FIXED32) this.take(4);
    else throw new WireError(`unsupported wire type ${wireType}`);
  }

  private take(length: number): Buffer {
    if (this.offset + length > this.buffer.length) throw new WireError('truncated field');
    const out = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }
}
