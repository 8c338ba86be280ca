/**
 * Element types of stored tensors (the safetensors dtype strings) and conversion to float32.
 *
 * @module
 */

/** A tensor element type, as safetensors spells it. */
export type DType = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32" | "I16" | "I8" | "U8" | "BOOL";

/** Bytes per element of each supported dtype. */
export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/**
 * Whether a string names a dtype this package reads and writes.
 *
 * @example
 * ```ts
 * import { isDType } from "./dtype.ts";
 * isDType("F16"); // true
 * isDType("F8_E4M3"); // false
 * ```
 */
export function isDType(s: unknown): s is DType {
  return typeof s === "string" && Object.hasOwn(DTYPE_BYTES, s);
}

/**
 * Product of a shape's dimensions (1 for a scalar `[]`, 0 when any dimension is 0).
 *
 * @example
 * ```ts
 * import { numel } from "./dtype.ts";
 * numel([320, 768]); // 245760
 * numel([]); // 1
 * ```
 */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

let halfTable: Float32Array | undefined;

/** float16 bit pattern → float32 value, for all 65,536 patterns (built once, 256 KB). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return (halfTable = t);
}

/**
 * Converts little-endian raw tensor bytes of any supported dtype to a new Float32Array.
 * Integers and booleans convert to their numeric value; F64 rounds to the nearest float32.
 *
 * @example
 * ```ts
 * import { toFloat32 } from "./dtype.ts";
 * const half = new Uint16Array([0x3c00, 0xc000]); // 1.0, -2.0 in float16
 * toFloat32("F16", new Uint8Array(half.buffer)); // Float32Array [1, -2]
 * ```
 */
export function toFloat32(dtype: DType, bytes: Uint8Array): Float32Array {
  if (!isDType(dtype)) throw new Error(`toFloat32: unknown dtype ${JSON.stringify(dtype)}`);
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  if (!Number.isInteger(n)) {
    throw new Error(`toFloat32: ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  // Copy into a fresh aligned buffer: tensor data in a file need not be aligned.
  const buf = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
  const ab = buf.buffer, off = buf.byteOffset;
  const out = new Float32Array(n);
  switch (dtype) {
    case "F32":
      out.set(new Float32Array(ab, off, n));
      break;
    case "F64":
      out.set(new Float64Array(ab, off, n));
      break;
    case "F16": {
      const src = new Uint16Array(ab, off, n), t = halfToFloatTable();
      for (let i = 0; i < n; i++) out[i] = t[src[i]];
      break;
    }
    case "BF16": {
      const src = new Uint16Array(ab, off, n), u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = src[i] << 16;
      break;
    }
    case "I64": {
      const src = new BigInt64Array(ab, off, n);
      for (let i = 0; i < n; i++) out[i] = Number(src[i]);
      break;
    }
    case "I32":
      out.set(new Int32Array(ab, off, n));
      break;
    case "I16":
      out.set(new Int16Array(ab, off, n));
      break;
    case "I8":
      out.set(new Int8Array(ab, off, n));
      break;
    case "U8":
    case "BOOL":
      out.set(new Uint8Array(ab, off, n));
      break;
  }
  return out;
}

/**
 * Rounds one float32, given as its bit pattern, to the nearest float16 bit pattern: ties to even,
 * gradual underflow to subnormals, overflow to ±Inf; a NaN stays a (quiet) NaN of the same sign.
 * Working on bits, not a JS number, keeps NaN signs exact.
 */
function floatBitsToHalfBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflows to ±0
    mant |= 0x800000; // make the implicit bit explicit, then shift into the subnormal range
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  const rest = mant & 0x1fff;
  let h = (e << 10) | (mant >>> 13);
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++; // a carry into the exponent is still right
  return sign | h;
}

/**
 * Converts float32 values to the raw little-endian bytes of `dtype` (F32, F16, BF16 or F64).
 * F16 and BF16 round to nearest, ties to even.
 *
 * @example
 * ```ts
 * import { fromFloat32 } from "./dtype.ts";
 * const bytes = fromFloat32("F16", new Float32Array([1, -2])); // 4 bytes: 00 3c 00 c0
 * ```
 */
export function fromFloat32(dtype: "F32" | "F16" | "BF16" | "F64", values: Float32Array): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case "F32":
      return new Uint8Array(values.slice().buffer);
    case "F64":
      return new Uint8Array(Float64Array.from(values).buffer);
    case "F16": {
      const out = new Uint16Array(n), src = new Uint32Array(values.buffer, values.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = floatBitsToHalfBits(src[i]);
      return new Uint8Array(out.buffer);
    }
    case "BF16": {
      const out = new Uint16Array(n), src = new Uint32Array(values.buffer, values.byteOffset, n);
      for (let i = 0; i < n; i++) {
        const b = src[i];
        if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) out[i] = (b >>> 16) | 0x40; // keep NaN a NaN
        else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
      }
      return new Uint8Array(out.buffer);
    }
  }
  throw new Error(`fromFloat32: cannot convert float32 to ${JSON.stringify(dtype)}`);
}
