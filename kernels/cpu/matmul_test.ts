import assert from "node:assert/strict";
import { type Matrix, matrix64, relativeMaxError } from "../matrix.ts";
import { randomMatrix } from "../random.ts";
import { cpuBatchedMatVec } from "./batched_matvec.ts";
import { cpuGram } from "./gram.ts";
import { cpuMatmul, matmul64 } from "./matmul.ts";

/** Textbook triple loop in float64: the independent reference of the blocked kernel. */
function naive(a: Matrix, b: Matrix, transA: boolean, transB: boolean) {
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const out = matrix64(m, n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (transA ? a.data[p * a.cols + i] : a.data[i * a.cols + p]) *
          (transB ? b.data[j * b.cols + p] : b.data[p * b.cols + j]);
      }
      out.data[i * n + j] = s;
    }
  }
  return out;
}

Deno.test("blocked CPU matmul equals the float64 triple loop for every transpose and odd sizes", () => {
  let seed = 1;
  for (const [m, k, n] of [[1, 1, 1], [7, 5, 3], [33, 65, 7], [130, 257, 65], [3, 300, 2]]) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const a = transA ? randomMatrix(k, m, seed++) : randomMatrix(m, k, seed++);
        const b = transB ? randomMatrix(n, k, seed++) : randomMatrix(k, n, seed++);
        const want = naive(a, b, transA, transB);
        assert.ok(relativeMaxError(matmul64(a, b, { transA, transB }), want) < 1e-14);
        assert.ok(relativeMaxError(cpuMatmul(a, b, { transA, transB }), want) < 1e-7);
      }
    }
  }
  assert.throws(() => cpuMatmul(randomMatrix(2, 3, 1), randomMatrix(2, 3, 2)), /inner dimensions differ/);
});

Deno.test("float64 Gram equals XᵀX from the triple loop, across row chunks and into an accumulator", () => {
  for (const [rows, cols] of [[1, 1], [33, 7], [5000, 9], [65, 130]]) {
    const x = randomMatrix(rows, cols, rows + cols);
    const want = naive(x, x, true, false);
    assert.ok(relativeMaxError(cpuGram(x), want) < 1e-14, `${rows}×${cols}`);
    const twice = cpuGram(x, cpuGram(x));
    assert.ok(relativeMaxError(twice, matrix64(cols, cols, want.data.map((v) => 2 * v))) < 1e-14);
  }
  assert.throws(() => cpuGram(randomMatrix(3, 4, 1), matrix64(3, 3)), /need \[4, 4\]/);
});

Deno.test("batched matrix–vector products equal per-matrix products", () => {
  const a = { batch: 3, rows: 5, cols: 7, data: randomMatrix(15, 7, 3).data };
  const x = randomMatrix(3, 7, 4);
  const y = cpuBatchedMatVec(a, x);
  for (let b = 0; b < 3; b++) {
    for (let r = 0; r < 5; r++) {
      let s = 0;
      for (let c = 0; c < 7; c++) s += a.data[(b * 5 + r) * 7 + c] * x.data[b * 7 + c];
      assert.ok(Math.abs(y.data[b * 5 + r] - s) < 1e-5);
    }
  }
  assert.throws(() => cpuBatchedMatVec(a, randomMatrix(2, 7, 5)), /3 matrices for 2 vectors/);
});
