import assert from "node:assert/strict";
import { cpuGram } from "../cpu/gram.ts";
import { cpuMatmul } from "../cpu/matmul.ts";
import { relativeMaxError } from "../matrix.ts";
import { randomMatrix } from "../random.ts";
import { GpuContext } from "./context.ts";
import { gpuGram, gpuMatmul } from "./gemm.ts";
import { gpuForTests } from "./test_support.ts";

const ctx = await gpuForTests();
const small = await gpuForTests(64 * 1024);

Deno.test({
  name: "gpuMatmul matches the CPU twin for all transposes at sizes off the 64-tile",
  ignore: !ctx,
  async fn() {
    const shapes: [number, number, number][] = [[1, 1, 1], [7, 33, 5], [65, 130, 33], [130, 65, 257], [
      257,
      7,
      66,
    ]];
    let seed = 1;
    for (const [m, k, n] of shapes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = transA ? randomMatrix(k, m, seed++) : randomMatrix(m, k, seed++);
          const b = transB ? randomMatrix(n, k, seed++) : randomMatrix(k, n, seed++);
          const got = await gpuMatmul(ctx!, a, b, { transA, transB });
          const want = cpuMatmul(a, b, { transA, transB });
          const err = relativeMaxError(got, want);
          assert.ok(err < 1e-5, `[${m},${k},${n}] transA=${transA} transB=${transB}: error ${err}`);
        }
      }
    }
  },
});

Deno.test({
  name: "gpuMatmul splits operands larger than the binding limit and still matches",
  ignore: !small,
  async fn() {
    // 64 KiB bindings hold 16384 floats; these operands and the result do not fit.
    const a = randomMatrix(300, 97, 11);
    const b = randomMatrix(190, 97, 12);
    const got = await gpuMatmul(small!, a, b, { transB: true });
    assert.ok(relativeMaxError(got, cpuMatmul(a, b, { transB: true })) < 1e-5);
    const c = randomMatrix(97, 300, 13);
    const got2 = await gpuMatmul(small!, c, b, { transA: true, transB: true });
    assert.ok(relativeMaxError(got2, cpuMatmul(c, b, { transA: true, transB: true })) < 1e-5);
  },
});

Deno.test({
  name: "gpuMatmul f16 storage matches the CPU twin on half-rounded inputs",
  ignore: !ctx,
  async fn() {
    const round = (m: ReturnType<typeof randomMatrix>) => ({
      ...m,
      data: m.data.map((v) => Math.f16round(v)),
    });
    // Odd element counts exercise the padded upload of 2-byte values.
    for (const [m, k, n] of [[1, 1, 1], [7, 5, 3], [70, 45, 33]]) {
      const a = randomMatrix(m, k, 21 + m);
      const b = randomMatrix(k, n, 22 + n);
      const got = await gpuMatmul(ctx!, a, b, {}, true);
      const err = relativeMaxError(got, cpuMatmul(round(a), round(b)));
      assert.ok(err < 1e-5, `f16 [${m},${k},${n}] error ${err}`);
    }
  },
});

Deno.test({
  name: "gpuGram matches the float64 CPU Gram, across row chunks and into an accumulator",
  ignore: !ctx || !small,
  async fn() {
    for (const [rows, cols, seed] of [[1, 1, 31], [33, 7, 32], [257, 65, 33], [130, 130, 34]]) {
      const x = randomMatrix(rows, cols, seed);
      const err = relativeMaxError(await gpuGram(ctx!, x), cpuGram(x));
      assert.ok(err < 1e-5, `gram ${rows}×${cols}: ${err}`);
    }
    // 64 KiB bindings force chunks of ≤ 16384/60 rows; the accumulator keeps what was there.
    const x = randomMatrix(700, 60, 35);
    const start = cpuGram(randomMatrix(5, 60, 36));
    const want = cpuGram(x, cpuGram(randomMatrix(5, 60, 36)));
    const err = relativeMaxError(await gpuGram(small!, x, start), want);
    assert.ok(err < 1e-5, `chunked gram: ${err}`);
  },
});

Deno.test("dispatch grids stay within 65535 workgroups per dimension", () => {
  assert.deepEqual(GpuContext.grid(1, 64), [1, 1]);
  assert.deepEqual(GpuContext.grid(65535 * 64, 64), [65535, 1]);
  const [x, y] = GpuContext.grid(65535 * 64 + 1, 64);
  assert.ok(x <= 65535 && y === 2 && x * y * 64 >= 65535 * 64 + 1);
});

Deno.test({
  name: "free the test devices",
  fn() {
    ctx?.device.destroy();
    small?.device.destroy();
  },
});
