import assert from "node:assert/strict";
import { memorySource } from "../formats/tensor_source.ts";
import { smallTensorFingerprint } from "./weights_fingerprint.ts";

Deno.test("weights fingerprint: small tensors' bytes and every tensor's shape count, big tensors' bytes do not", async () => {
  const make = (bias: number, big: number, shape = [4, 300]) =>
    memorySource({
      "ln.bias": { dtype: "F32", shape: [3], data: new Float32Array([bias, 2, 3]) },
      "w": { dtype: "F32", shape, data: new Float32Array(1200).fill(big) },
    });
  const base = await smallTensorFingerprint(make(1, 0), 1024);
  assert.equal(await smallTensorFingerprint(make(1, 0), 1024), base);
  assert.notEqual(await smallTensorFingerprint(make(1.5, 0), 1024), base);
  assert.notEqual(await smallTensorFingerprint(make(1, 0, [300, 4]), 1024), base);
  // 4.8 kB is over the 1 kB limit: only its name, dtype and shape enter.
  assert.equal(await smallTensorFingerprint(make(1, 7), 1024), base);
  assert.notEqual(
    await smallTensorFingerprint(make(1, 7), 8192),
    await smallTensorFingerprint(make(1, 0), 8192),
  );
});
