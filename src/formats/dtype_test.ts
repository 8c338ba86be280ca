import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DTYPE_BYTES, fromFloat32, isDType, numel, toFloat32 } from "./dtype.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/safetensors/", import.meta.url));

interface RoundingTable {
  f32: number[];
  f16: number[];
  bf16: number[];
}

const table: RoundingTable = JSON.parse(readFileSync(FIXTURES + "rounding.json", "utf8"));

function bitsToFloat32(bits: number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}

function firstMismatch(got: Uint16Array, want: number[], input: number[]): string {
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) {
      return `f32 0x${input[i].toString(16)}: got 0x${got[i].toString(16)}, want 0x${want[i].toString(16)}`;
    }
  }
  return "";
}

Deno.test("dtype: float32 → float16 rounds exactly like numpy/torch on edge and random values", () => {
  assert.ok(table.f32.length > 3000);
  const bytes = fromFloat32("F16", bitsToFloat32(table.f32));
  const got = new Uint16Array(bytes.buffer, bytes.byteOffset, table.f32.length);
  assert.equal(firstMismatch(got, table.f16, table.f32), "");
});

Deno.test("dtype: float32 → bfloat16 rounds exactly like torch on edge and random values", () => {
  const bytes = fromFloat32("BF16", bitsToFloat32(table.f32));
  const got = new Uint16Array(bytes.buffer, bytes.byteOffset, table.f32.length);
  assert.equal(firstMismatch(got, table.bf16, table.f32), "");
});

Deno.test("dtype: NaN stays NaN with its sign in float16 and bfloat16", () => {
  const nanBits = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fffffff];
  const x = bitsToFloat32(nanBits);
  for (const dtype of ["F16", "BF16"] as const) {
    const bits = new Uint16Array(fromFloat32(dtype, x).buffer);
    const back = toFloat32(dtype, new Uint8Array(bits.buffer));
    for (let i = 0; i < nanBits.length; i++) {
      assert.ok(Number.isNaN(back[i]), `${dtype} of 0x${nanBits[i].toString(16)}`);
      assert.equal(bits[i] >> 15, nanBits[i] >>> 31, `${dtype} NaN sign of 0x${nanBits[i].toString(16)}`);
    }
  }
});

Deno.test("dtype: every float16 pattern converts to float32 and back unchanged", () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const f = toFloat32("F16", new Uint8Array(all.buffer));
  const back = new Uint16Array(fromFloat32("F16", f).buffer);
  for (let h = 0; h < 65536; h++) {
    const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
    if (isNaN) assert.ok(Number.isNaN(f[h]));
    else if (back[h] !== h) assert.fail(`0x${h.toString(16)} → ${f[h]} → 0x${back[h].toString(16)}`);
  }
  assert.equal(f[0x3c00], 1);
  assert.equal(f[0x0001], 2 ** -24);
  assert.equal(f[0x7bff], 65504);
  assert.equal(f[0xfc00], -Infinity);
  assert.ok(Object.is(f[0x8000], -0));
});

Deno.test("dtype: integer and bool dtypes convert to their values, from unaligned bytes too", () => {
  const buf = new Uint8Array(1 + 16);
  new DataView(buf.buffer).setBigInt64(1, -(2n ** 40n) - 3n, true);
  new DataView(buf.buffer).setBigInt64(9, 77n, true);
  assert.deepEqual([...toFloat32("I64", buf.subarray(1))], [Math.fround(-(2 ** 40) - 3), 77]);
  const i16 = new Uint8Array([0, 0x00, 0x80, 0xff, 0x7f]).subarray(1);
  assert.deepEqual([...toFloat32("I16", i16)], [-32768, 32767]);
  assert.deepEqual([...toFloat32("I8", new Uint8Array([0x80, 0x7f, 0xff]))], [-128, 127, -1]);
  assert.deepEqual([...toFloat32("U8", new Uint8Array([0, 255]))], [0, 255]);
  assert.deepEqual([...toFloat32("BOOL", new Uint8Array([1, 0]))], [1, 0]);
  const f64 = new Uint8Array(9);
  new DataView(f64.buffer).setFloat64(1, Math.PI, true);
  assert.deepEqual([...toFloat32("F64", f64.subarray(1))], [Math.fround(Math.PI)]);
});

Deno.test("dtype: byte counts that are not whole elements and unknown dtypes are refused", () => {
  assert.throws(() => toFloat32("F32", new Uint8Array(6)), /6 bytes is not a whole number of F32 elements/);
  // @ts-expect-error: runtime check of an invalid dtype
  assert.throws(() => toFloat32("F8_E4M3", new Uint8Array(2)), /unknown dtype "F8_E4M3"/);
  // @ts-expect-error: runtime check of an invalid dtype
  assert.throws(() => fromFloat32("I32", new Float32Array(1)), /cannot convert float32 to "I32"/);
  assert.ok(isDType("BF16") && !isDType("toString") && !isDType(4));
  assert.equal(numel([]), 1);
  assert.equal(numel([3, 0, 5]), 0);
  assert.equal(DTYPE_BYTES.I64, 8);
});
