// Protocol-buffers wire format, by hand: ONNX files are protobuf, and the only JS protobuf libraries either
// generate code at runtime (eval, blocked in some hosts) or pull in a large dependency for the handful of
// field kinds ONNX uses. The reader is written for hostile input: every length is checked against what
// remains before anything is sliced or allocated, and every failure is an InputError naming the byte.

import { InputError } from "../errors";

export const WireType = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, START_GROUP: 3, END_GROUP: 4, FIXED32: 5 } as const;

const WIRE_TYPE_NAMES = ["varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32", "6", "7"];

/** A varint never needs more than 10 bytes for 64 bits; an 11th byte can only be corruption or an attack. */
const MAX_VARINT_BYTES = 10;
/** ONNX nests a handful of levels deep; a bound keeps a crafted file from recursing the stack away. */
export const MAX_NESTING_DEPTH = 32;

const TWO_POW_32 = 4294967296;
/** High word bound for |value| ≤ 2^53 − 1, so that hi·2^32 + lo stays a safe integer. */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

// ---------------------------------------------------------------------------------------------------------
// Writer

/**
 * Builds a message as a list of chunks so that a nested message or a large tensor is never copied more
 * than once (into the final buffer): protobuf prefixes every nested message with its length, and building
 * children first and splicing their chunks in avoids both a size pre-pass and repeated re-copying.
 */
export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  private scratch = new Uint8Array(256);
  private scratchUsed = 0;

  get byteLength(): number {
    return this.chunkBytes + this.scratchUsed;
  }

  tag(field: number, wireType: number): this {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new Error(`protobuf field number ${field} is out of range`);
    this.rawVarint(field * 8 + wireType);
    return this;
  }

  /** int64/int32/uint64/enum/bool fields; negative values take the 10-byte two's-complement form protobuf requires. */
  varintField(field: number, value: number): this {
    return this.tag(field, WireType.VARINT).rawVarint(value);
  }

  floatField(field: number, value: number): this {
    this.tag(field, WireType.FIXED32);
    this.view(4).setFloat32(0, value, true);
    return this;
  }

  doubleField(field: number, value: number): this {
    this.tag(field, WireType.FIXED64);
    this.view(8).setFloat64(0, value, true);
    return this;
  }

  fixed32Field(field: number, value: number): this {
    this.tag(field, WireType.FIXED32);
    this.view(4).setUint32(0, value >>> 0, true);
    return this;
  }

  fixed64Field(field: number, value: bigint): this {
    this.tag(field, WireType.FIXED64);
    this.view(8).setBigUint64(0, BigInt.asUintN(64, value), true);
    return this;
  }

  /** Keeps a reference to `bytes` until finish() when it is large, so the caller must not change it before then. */
  bytesField(field: number, bytes: Uint8Array): this {
    this.tag(field, WireType.LENGTH_DELIMITED).rawVarint(bytes.length);
    this.rawBytes(bytes);
    return this;
  }

  stringField(field: number, text: string): this {
    return this.bytesField(field, utf8Encoder.encode(text));
  }

  packedVarintField(field: number, values: ArrayLike<number>): this {
    const body = new ProtobufWriter();
    for (let i = 0; i < values.length; i++) body.rawVarint(values[i]);
    return this.splice(field, body);
  }

  packedFloatField(field: number, values: ArrayLike<number>): this {
    const body = new ProtobufWriter();
    const view = body.view(4 * values.length);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
    return this.splice(field, body);
  }

  packedDoubleField(field: number, values: ArrayLike<number>): this {
    const body = new ProtobufWriter();
    const view = body.view(8 * values.length);
    for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
    return this.splice(field, body);
  }

  messageField(field: number, writeBody: (body: ProtobufWriter) => void): this {
    const body = new ProtobufWriter();
    writeBody(body);
    return this.splice(field, body);
  }

  finish(): Uint8Array {
    this.flushScratch();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.chunkBytes);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    return out;
  }

  /** A bare varint (no tag), for packed runs and lengths. */
  rawVarint(value: number): this {
    if (!Number.isSafeInteger(value)) throw new Error(`cannot encode ${value} as a protobuf varint (not a safe integer)`);
    let lo: number;
    let hi: number;
    if (value >= 0) {
      lo = value >>> 0;
      hi = Math.floor(value / TWO_POW_32) >>> 0;
    } else {
      // Two's complement of |value| across the two 32-bit words.
      const magnitude = -value;
      lo = (~(magnitude >>> 0) + 1) >>> 0;
      hi = (~Math.floor(magnitude / TWO_POW_32) + (lo === 0 ? 1 : 0)) >>> 0;
    }
    this.reserve(MAX_VARINT_BYTES);
    while (hi !== 0 || lo > 0x7f) {
      this.scratch[this.scratchUsed++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.scratch[this.scratchUsed++] = lo;
    return this;
  }

  private rawBytes(bytes: Uint8Array): void {
    if (bytes.length >= 1024) {
      this.flushScratch();
      this.chunks.push(bytes);
      this.chunkBytes += bytes.length;
      return;
    }
    this.reserve(bytes.length);
    this.scratch.set(bytes, this.scratchUsed);
    this.scratchUsed += bytes.length;
  }

  private splice(field: number, body: ProtobufWriter): this {
    this.tag(field, WireType.LENGTH_DELIMITED).rawVarint(body.byteLength);
    body.flushScratch();
    this.flushScratch();
    for (const chunk of body.chunks) this.chunks.push(chunk);
    this.chunkBytes += body.chunkBytes;
    return this;
  }

  /** A little-endian window of `size` fresh bytes at the end of the message. */
  private view(size: number): DataView {
    this.reserve(size);
    const view = new DataView(this.scratch.buffer, this.scratch.byteOffset + this.scratchUsed, size);
    this.scratchUsed += size;
    return view;
  }

  private reserve(size: number): void {
    if (this.scratchUsed + size <= this.scratch.length) return;
    this.flushScratch();
    if (size > this.scratch.length) this.scratch = new Uint8Array(Math.max(size, this.scratch.length * 2));
  }

  private flushScratch(): void {
    if (this.scratchUsed === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.scratchUsed));
    this.chunkBytes += this.scratchUsed;
    // A fresh buffer, not a reset one: the flushed chunk still views the old one. Grow it for long runs.
    this.scratch = new Uint8Array(Math.min(this.scratch.length * 2, 65536));
    this.scratchUsed = 0;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reader

export interface FieldTag {
  field: number;
  wireType: number;
}

/**
 * Reads one message: the bytes from `start` to `end` of the file. Nested messages get their own reader
 * over the same file bytes, so positions in error messages are always offsets into the file.
 */
export class ProtobufReader {
  private position: number;
  /** The halves of the last varint read: protobuf varints are 64-bit and JS numbers hold only 53 bits. */
  private low = 0;
  private high = 0;
  private readonly dataView: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    /** Names the file in error messages. */
    readonly source: string,
    /** Where in the file this message is, e.g. "graph.node[3]", for error messages. */
    readonly path = "",
    start = 0,
    readonly end = bytes.length,
    readonly depth = 0,
    dataView?: DataView,
  ) {
    this.position = start;
    this.dataView = dataView ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.position;
  }

  get atEnd(): boolean {
    return this.position >= this.end;
  }

  get remaining(): number {
    return this.end - this.position;
  }

  /** Throws an InputError naming the file, the byte and the place in the message tree. */
  fail(problem: string, at = this.position, detail?: string): never {
    const where = this.path ? ` in ${this.path}` : "";
    throw new InputError(`${this.source}: ${problem} at byte ${at}${where}${detail ? ` (${detail})` : ""}`);
  }

  readTag(): FieldTag {
    const at = this.position;
    this.readVarintHalves();
    if (this.high !== 0) this.fail("corrupt field tag", at, "the tag is wider than 32 bits");
    const field = this.low >>> 3;
    const wireType = this.low & 7;
    if (field === 0) this.fail("corrupt field tag", at, "field number 0 does not exist in protobuf");
    if (wireType === WireType.START_GROUP || wireType === WireType.END_GROUP) {
      this.fail("unsupported protobuf group", at, `field ${field} uses the deprecated group wire type, which ONNX never writes`);
    }
    if (wireType > WireType.FIXED32) this.fail("corrupt field tag", at, `wire type ${wireType} does not exist`);
    return { field, wireType };
  }

  /** Skips a field this reader does not know, which protobuf requires readers to tolerate. */
  skipField(wireType: number): void {
    switch (wireType) {
      case WireType.VARINT:
        this.readVarintHalves();
        return;
      case WireType.FIXED64:
        this.advance(8);
        return;
      case WireType.FIXED32:
        this.advance(4);
        return;
      case WireType.LENGTH_DELIMITED:
        this.advance(this.readLength());
        return;
      default:
        this.fail(`cannot skip a field of wire type ${wireType}`);
    }
  }

  // Typed field readers: each checks the wire type first, since a mismatch means the bytes are not what the
  // schema says (corruption, or not an ONNX file at all), and names the field when it fails.

  int64Field(wireType: number, name: string): number {
    this.expectWireType(wireType, WireType.VARINT, name);
    return this.readInt64(name);
  }

  int32Field(wireType: number, name: string): number {
    this.expectWireType(wireType, WireType.VARINT, name);
    return this.readInt32(name);
  }

  floatField(wireType: number, name: string): number {
    this.expectWireType(wireType, WireType.FIXED32, name);
    return this.readFloat();
  }

  doubleField(wireType: number, name: string): number {
    this.expectWireType(wireType, WireType.FIXED64, name);
    return this.readDouble();
  }

  bytesField(wireType: number, name: string): Uint8Array {
    this.expectWireType(wireType, WireType.LENGTH_DELIMITED, name);
    return this.readBytes();
  }

  stringField(wireType: number, name: string): string {
    this.expectWireType(wireType, WireType.LENGTH_DELIMITED, name);
    const at = this.position;
    const bytes = this.readBytes();
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail(`${name} is not valid UTF-8`, at);
    }
  }

  /** A reader over a nested message; `name` extends the path shown in error messages. */
  messageField(wireType: number, name: string): ProtobufReader {
    this.expectWireType(wireType, WireType.LENGTH_DELIMITED, name);
    if (this.depth + 1 > MAX_NESTING_DEPTH) this.fail(`messages nested more than ${MAX_NESTING_DEPTH} deep`);
    const length = this.readLength();
    const start = this.position;
    this.position += length;
    const path = this.path ? `${this.path}.${name}` : name;
    return new ProtobufReader(this.bytes, this.source, path, start, start + length, this.depth + 1, this.dataView);
  }

  /**
   * One occurrence of a repeated scalar field, as a reader over its elements. Writers may emit a repeated
   * scalar packed (one length-delimited run) or as one tagged element each, and may mix both, so readers
   * must accept either; the returned reader yields the elements the same way in both cases.
   */
  repeatedField(wireType: number, elementWireType: number, name: string): ProtobufReader {
    const at = this.position;
    let start: number;
    if (wireType === WireType.LENGTH_DELIMITED) {
      const length = this.readLength();
      start = this.position;
      this.position += length;
    } else {
      this.expectWireType(wireType, elementWireType, name);
      start = this.position;
      this.skipField(wireType);
    }
    const run = new ProtobufReader(this.bytes, this.source, this.path, start, this.position, this.depth, this.dataView);
    const size = elementWireType === WireType.FIXED32 ? 4 : elementWireType === WireType.FIXED64 ? 8 : 0;
    if (size > 0 && run.remaining % size !== 0) {
      this.fail(`corrupt packed ${name}`, at, `${run.remaining} bytes is not a whole number of ${size}-byte values`);
    }
    return run;
  }

  /** How many varints a packed run holds, without decoding them: count the bytes that end one. */
  countVarints(): number {
    let count = 0;
    for (let i = this.position; i < this.end; i++) if (this.bytes[i] < 0x80) count++;
    if (this.end > this.position && this.bytes[this.end - 1] >= 0x80) this.fail("truncated varint", this.end);
    return count;
  }

  // Bare values (no tag), for message fields and for the elements of repeated runs.

  /** A signed 64-bit varint as a JS number; values beyond ±(2^53 − 1) cannot be represented exactly, so they fail. */
  readInt64(name: string): number {
    const at = this.position;
    this.readVarintHalves();
    let low = this.low;
    let high = this.high;
    const negative = high >= 0x80000000;
    if (negative) {
      low = (~low + 1) >>> 0;
      high = (~high + (low === 0 ? 1 : 0)) >>> 0;
    }
    if (high > MAX_SAFE_HIGH_WORD) {
      this.fail(`${name} is out of range`, at, "beyond ±2^53, which JavaScript numbers cannot hold exactly");
    }
    const magnitude = high * TWO_POW_32 + low;
    return negative ? -magnitude : magnitude;
  }

  /** int32 fields (and enums) are written sign-extended to 64 bits when negative, so read 64 and range-check. */
  readInt32(name: string): number {
    const at = this.position;
    const value = this.readInt64(name);
    if (value < -0x80000000 || value > 0x7fffffff) this.fail(`${name} is out of range`, at, `${value} does not fit in 32 bits`);
    return value;
  }

  /** A 64-bit two's-complement varint, exactly (for INT64 tensor data). */
  readInt64Exact(): bigint {
    this.readVarintHalves();
    return BigInt.asIntN(64, (BigInt(this.high) << 32n) | BigInt(this.low));
  }

  readFloat(): number {
    const at = this.position;
    this.advance(4);
    return this.dataView.getFloat32(at, true);
  }

  readDouble(): number {
    const at = this.position;
    this.advance(8);
    return this.dataView.getFloat64(at, true);
  }

  /** A view into the file (no copy), after checking the claimed length fits. */
  readBytes(): Uint8Array {
    const length = this.readLength();
    const start = this.position;
    this.position += length;
    return this.bytes.subarray(start, start + length);
  }

  private expectWireType(actual: number, expected: number, name: string): void {
    if (actual !== expected) {
      this.fail(`corrupt field ${name}`, this.position, `wire type ${WIRE_TYPE_NAMES[actual]}, expected ${WIRE_TYPE_NAMES[expected]}`);
    }
  }

  /** A length prefix, checked against the bytes left in this message before anyone slices or allocates by it. */
  private readLength(): number {
    const at = this.position;
    this.readVarintHalves();
    const claimed = this.high * TWO_POW_32 + this.low;
    const remaining = this.end - this.position;
    if (this.high !== 0 || claimed > remaining) {
      const claim = this.high === 0 ? String(claimed) : ((BigInt(this.high) << 32n) | BigInt(this.low)).toString();
      this.fail("truncated or corrupt", at, `a length field claims ${claim} bytes, ${remaining} remain`);
    }
    return claimed;
  }

  private advance(count: number): void {
    if (count > this.end - this.position) {
      this.fail("truncated", this.position, `${count} bytes needed, ${this.end - this.position} remain`);
    }
    this.position += count;
  }

  /** Leaves the varint's low and high 32 bits in this.low/this.high; bits past 64 are dropped, as protobuf does. */
  private readVarintHalves(): void {
    const at = this.position;
    let low = 0;
    let high = 0;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.position >= this.end) this.fail("truncated varint", at, `it runs past the end of the ${this.path || "file"}`);
      const byte = this.bytes[this.position++];
      const bits = byte & 0x7f;
      if (i < 4) low |= bits << (7 * i);
      else if (i === 4) {
        low |= bits << 28;
        high |= bits >>> 4;
      } else high |= bits << (7 * i - 32);
      if (byte < 0x80) {
        this.low = low >>> 0;
        this.high = high >>> 0;
        return;
      }
    }
    this.fail("corrupt varint", at, `longer than ${MAX_VARINT_BYTES} bytes`);
  }
}
