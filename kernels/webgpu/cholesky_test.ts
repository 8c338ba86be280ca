import assert from "node:assert/strict";
import { cpuSolveSPD } from "../cpu/cholesky.ts";
import { matrix, matrix64, relativeMaxError } from "../matrix.ts";
import { randomMatrix, spdWithCondition } from "../random.ts";
import { gpuCholeskyFactor, gpuCholeskySolve, gpuSolveSPD } from "./cholesky.ts";
import { gpuForTests } from "./test_support.ts";

const ctx = await gpuForTests();
const small = await gpuForTests(64 * 1024);

Deno.test({
  name:
    "float32 GPU factor + solve matches the float64 twin to float32 accuracy on a well-conditioned system",
  ignore: !ctx,
  async fn() {
    for (const n of [1, 7, 33, 65, 130]) {
      const a = spdWithCondition(n, 10, n + 1);
      const b = randomMatrix(n, 3, n + 2);
      const factor = await gpuCholeskyFactor(ctx!, matrix(n, n, Float32Array.from(a.data)));
      const x = await gpuCholeskySolve(ctx!, factor, b.data, 3);
      factor.buffer.destroy();
      const want = cpuSolveSPD(a, b).x;
      const err = relativeMaxError(matrix(n, 3, x), want);
      assert.ok(err < 1e-4, `n=${n}: ${err}`);
    }
  },
});

Deno.test({
  name: "GPU solve with float64 refinement agrees with the float64 CPU solve for κ up to 1e6",
  ignore: !ctx,
  async fn() {
    for (const [n, condition] of [[65, 1e2], [130, 1e4], [257, 1e6]] as const) {
      const a = spdWithCondition(n, condition, 2 * n);
      // Bad row/column scaling on top of κ: equilibration must undo it.
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          a.data[i * n + j] *= Math.pow(10, (i % 3) - 1) * Math.pow(10, (j % 3) - 1);
        }
      }
      const b = randomMatrix(n, 9, n + 5);
      const want = cpuSolveSPD(a, b);
      const got = await gpuSolveSPD(ctx!, a, b);
      const err = relativeMaxError(got.x, want.x);
      console.log(
        `webgpu solve n=${n} κ=${condition}: ${got.method}, ${got.refinementSteps} refinement steps, ` +
          `error vs f64 ${err.toExponential(2)}, residual ${got.relativeResidual.toExponential(2)} ` +
          `(f64 twin residual ${want.relativeResidual.toExponential(2)})`,
      );
      assert.equal(got.method, "webgpu-f32+f64-refinement");
      assert.ok(err < 1e-8, `n=${n} κ=${condition}: error ${err}`);
      assert.ok(
        got.relativeResidual < 10 * want.relativeResidual + 1e-14,
        `residual ${got.relativeResidual}`,
      );
    }
  },
});

Deno.test({
  name: "GPU solve splits right-hand sides that exceed the binding limit",
  ignore: !small,
  async fn() {
    const n = 100;
    const a = spdWithCondition(n, 1e3, 9);
    const b = randomMatrix(n, 200, 10); // 20000 floats > 16384
    const got = await gpuSolveSPD(small!, a, b);
    assert.ok(relativeMaxError(got.x, cpuSolveSPD(a, b).x) < 1e-8);
    assert.equal(got.method, "webgpu-f32+f64-refinement");
    // A matrix that cannot fit one binding is solved on the CPU, and the result says so.
    const big = spdWithCondition(130, 10, 11);
    const fallback = await gpuSolveSPD(small!, big, randomMatrix(130, 2, 12));
    assert.match(fallback.method, /^cpu-f64 \(matrix exceeds/);
  },
});

Deno.test({
  name: "GPU solve falls back to the float64 CPU solve when float32 cannot resolve the system (κ = 1e12)",
  ignore: !ctx,
  async fn() {
    const a = spdWithCondition(65, 1e12, 21);
    const b = randomMatrix(65, 3, 22);
    const got = await gpuSolveSPD(ctx!, a, b);
    console.log(`webgpu solve n=65 κ=1e12: ${got.method}, ${got.refinementSteps} refinement steps`);
    assert.match(got.method, /^cpu-f64 \(webgpu refinement did not converge\)/);
    assert.equal(relativeMaxError(got.x, cpuSolveSPD(a, b).x), 0);
  },
});

Deno.test({
  name: "GPU solve rejects a non-positive diagonal",
  ignore: !ctx,
  async fn() {
    await assert.rejects(
      gpuSolveSPD(ctx!, matrix64(2, 2, new Float64Array([1, 0, 0, -1])), matrix64(2, 1)),
      /diagonal 1/,
    );
  },
});

Deno.test({
  name: "free the cholesky test devices",
  fn() {
    ctx?.device.destroy();
    small?.device.destroy();
  },
});
