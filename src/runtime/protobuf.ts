/**
 * A minimal Protocol Buffers writer: just what serializing an ONNX `ModelProto` needs (varints,
 * length-delimited fields, packed repeated varints, 32-bit floats).
 *
 * Messages are built as trees of chunks so that large payloads (weights) are never copied until the
 * final {@link ProtoWriter.finish}, which allocates the output once.
 *
 * @module
 */

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED32 = 5;
const LENGTH_DELIMITED = 2;

/**
 * Accumulates the fields of one protobuf message.
 *
 * @example
 * ```ts
 * import { ProtoWriter } from "./protobuf.ts";
 * const w = new ProtoWriter();
 * w.int(1, 150);
 * w.string(2, "hello");
 * const bytes: Uint8Array = w.finish();
 * ```
 */
export class ProtoWriter {
  /** Encoded pieces in order; nested writers are flattened when finishing. */
  readonly chunks: (Uint8Array | ProtoWriter)[] = [];
  /** Total encoded length in bytes. */
  length = 0;
  #scratch: number[] = [];

  #flushScratch(): void {
    if (this.#scratch.length === 0) return;
    const bytes = Uint8Array.from(this.#scratch);
    this.chunks.push(bytes);
    this.length += bytes.length;
    this.#scratch = [];
  }

  #varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    if (typeof value === "number" && value >= 0 && value < 2 ** 31) {
      let n = value;
      while (n >= 0x80) {
        this.#scratch.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      this.#scratch.push(n);
      return;
    }
    while (v >= 0x80n) {
      this.#scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#scratch.push(Number(v));
  }

  #tag(field: number, wireType: number): void {
    this.#varint((field << 3) | wireType);
  }

  /** Writes an integer field (int32/int64/enum/bool); negative values use 10-byte two's complement. */
  int(field: number, value: number | bigint): this {
    this.#tag(field, VARINT);
    this.#varint(value);
    return this;
  }

  /** Writes a 32-bit float field. */
  float(field: number, value: number): this {
    this.#tag(field, FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#scratch.push(...b);
    return this;
  }

  /** Writes a packed repeated 32-bit float field. */
  floats(field: number, values: readonly number[]): this {
    const b = new Uint8Array(values.length * 4);
    const dv = new DataView(b.buffer);
    values.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }

  /** Writes a packed repeated integer field. */
  ints(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.#varint(v);
    return this.message(field, inner);
  }

  /** Writes a UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** Writes a bytes field without copying `value` (it is referenced until {@link finish}). */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, LENGTH_DELIMITED);
    this.#varint(value.length);
    this.#flushScratch();
    this.chunks.push(value);
    this.length += value.length;
    return this;
  }

  /** Writes a nested message field. */
  message(field: number, inner: ProtoWriter): this {
    inner.#flushScratch();
    this.#tag(field, LENGTH_DELIMITED);
    this.#varint(inner.length);
    this.#flushScratch();
    this.chunks.push(inner);
    this.length += inner.length;
    return this;
  }

  /** Encoded size in bytes of everything written so far. */
  byteLength(): number {
    this.#flushScratch();
    return this.length;
  }

  /** Concatenates everything written into one buffer. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.byteLength());
    let offset = 0;
    const copy = (w: ProtoWriter): void => {
      w.#flushScratch();
      for (const c of w.chunks) {
        if (c instanceof ProtoWriter) copy(c);
        else {
          out.set(c, offset);
          offset += c.length;
        }
      }
    };
    copy(this);
    return out;
  }
}
