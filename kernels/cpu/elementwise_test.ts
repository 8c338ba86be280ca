import assert from "node:assert/strict";
import { cpuCombine, cpuDot, cpuMultiply, cpuReduce } from "./elementwise.ts";

Deno.test("elementwise twins compute combine, multiply and float64 reductions", () => {
  const a = new Float32Array([1.5, -2, 3]);
  const b = new Float32Array([4, 0.5, -1]);
  assert.deepEqual(Array.from(cpuCombine(a, b, 2, 3)), [15, -2.5, 3]);
  assert.deepEqual(Array.from(cpuMultiply(a, b)), [6, -1, -3]);
  assert.equal(cpuReduce(a, "sum"), 2.5);
  assert.equal(cpuReduce(a, "sumOfSquares"), 15.25);
  assert.equal(cpuReduce(a, "maxAbs"), 3);
  assert.equal(cpuDot(a, b), 2);
  // 1 + 2⁻²⁴·n would be lost in a float32 running sum; float64 keeps it.
  const small = new Float32Array(1 + 1024).fill(2 ** -24);
  small[0] = 1;
  assert.equal(cpuReduce(small, "sum"), 1 + 1024 * 2 ** -24);
  assert.throws(() => cpuDot(a, new Float32Array(2)), /lengths differ/);
});
