import assert from "node:assert/strict";
import { CpuAdamW } from "../cpu/adamw.ts";
import { cpuBatchedMatVec } from "../cpu/batched_matvec.ts";
import { cpuCombine, cpuDot, cpuMultiply, cpuReduce } from "../cpu/elementwise.ts";
import { matrix, relativeMaxError } from "../matrix.ts";
import { randomMatrix } from "../random.ts";
import { GpuAdamW } from "./adamw.ts";
import { gpuBatchedMatVec } from "./batched_matvec.ts";
import { gpuCombine, gpuDot, gpuMultiply, gpuReduce } from "./elementwise.ts";
import { gpuForTests } from "./test_support.ts";

const ctx = await gpuForTests();
const small = await gpuForTests(4 * 1024);
const vector = (n: number, seed: number) => randomMatrix(1, n, seed).data;
const asRow = (v: Float32Array) => matrix(1, v.length, v);

Deno.test({
  name: "GPU elementwise ops and reductions match the CPU twins, also split into segments",
  ignore: !ctx || !small,
  async fn() {
    for (const gpu of [ctx!, small!]) {
      for (const n of [1, 7, 257, 5000]) {
        const a = vector(n, n);
        const b = vector(n, n + 1);
        assert.ok(
          relativeMaxError(asRow(await gpuCombine(gpu, a, b, 0.5, -2)), asRow(cpuCombine(a, b, 0.5, -2))) <
            1e-6,
        );
        assert.ok(relativeMaxError(asRow(await gpuMultiply(gpu, a, b)), asRow(cpuMultiply(a, b))) < 1e-6);
        for (const kind of ["sum", "sumOfSquares", "maxAbs"] as const) {
          const got = await gpuReduce(gpu, a, kind);
          const want = cpuReduce(a, kind);
          // A sum of signed values can cancel; compare against the scale of Σ|a|.
          const scale = kind === "sum" ? cpuReduce(a.map(Math.abs), "sum") : Math.abs(want);
          assert.ok(Math.abs(got - want) <= 1e-5 * scale, `${kind} n=${n}: ${got} vs ${want}`);
        }
        const dot = await gpuDot(gpu, a, b);
        assert.ok(Math.abs(dot - cpuDot(a, b)) <= 1e-5 * cpuDot(a.map(Math.abs), b.map(Math.abs)));
      }
    }
  },
});

Deno.test({
  name: "GPU batched matrix–vector products match the CPU twin (stacked and shared matrices)",
  ignore: !ctx || !small,
  async fn() {
    for (const gpu of [ctx!, small!]) {
      for (const [batch, rows, cols] of [[1, 7, 33], [5, 33, 7], [9, 65, 130]]) {
        const a = { batch, rows, cols, data: randomMatrix(batch * rows, cols, rows).data };
        const x = randomMatrix(batch === 1 ? 4 : batch, cols, cols);
        const err = relativeMaxError(await gpuBatchedMatVec(gpu, a, x), cpuBatchedMatVec(a, x));
        assert.ok(err < 1e-5, `batch=${batch} ${rows}×${cols}: ${err}`);
      }
    }
  },
});

Deno.test({
  name: "GPU AdamW keeps state on the device and tracks the CPU twin over several steps",
  ignore: !ctx || !small,
  async fn() {
    for (const gpu of [ctx!, small!]) {
      const params = vector(3000, 5);
      const options = { lr: 1e-2, weightDecay: 0.1, beta1: 0.8, beta2: 0.99, eps: 1e-6 };
      const onGpu = new GpuAdamW(gpu, params, options);
      const onCpu = new CpuAdamW(params, options);
      for (let step = 0; step < 5; step++) {
        const grad = vector(3000, 100 + step);
        await onGpu.update(grad);
        await onCpu.update(grad);
      }
      const err = relativeMaxError(asRow(await onGpu.read()), asRow(await onCpu.read()));
      assert.ok(err < 1e-6, `adamw: ${err}`);
      onGpu.dispose();
    }
  },
});

Deno.test({
  name: "free the elementwise test devices",
  fn() {
    ctx?.device.destroy();
    small?.device.destroy();
  },
});
