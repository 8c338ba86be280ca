import assert from "node:assert/strict";
import { svdOfProduct, symmetricEigen, thinQr } from "./linalg.ts";
import { Random } from "../sample/random.ts";

function randomMatrix(rows: number, cols: number, seed: number): Float64Array {
  const rng = new Random(seed, "linalg");
  return Float64Array.from({ length: rows * cols }, () => rng.normal());
}

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let t = 0; t < k; t++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + t] * b[t * n + j];
  }
  return out;
}

const maxAbs = (a: Float64Array) => a.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

for (const n of [1, 2, 3, 7, 33, 130]) {
  Deno.test(`symmetricEigen ${n}×${n}: A·V = V·Λ, VᵀV = I, descending`, () => {
    const g = randomMatrix(n, n, n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j] + g[j * n + i];
    const { values, vectors } = symmetricEigen(a, n);
    const av = matmul(a, vectors, n, n, n);
    const scale = maxAbs(a);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        assert.ok(Math.abs(av[i * n + j] - vectors[i * n + j] * values[j]) < 1e-10 * scale * n);
      }
    }
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < n; t++) s += vectors[t * n + i] * vectors[t * n + j];
        assert.ok(Math.abs(s - (i === j ? 1 : 0)) < 1e-10);
      }
    }
    for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i]);
  });
}

Deno.test("thinQr: Q orthonormal, Q·R = A, dependent columns give zero columns", () => {
  const m = 40, k = 6;
  const a = randomMatrix(m, k, 5);
  for (let i = 0; i < m; i++) a[i * k + 4] = 2 * a[i * k + 1] - a[i * k + 2]; // dependent column
  const { q, r } = thinQr(a, m, k);
  const qr = matmul(q, r, m, k, k);
  for (let i = 0; i < m * k; i++) assert.ok(Math.abs(qr[i] - a[i]) < 1e-12);
  assert.ok(Math.abs(r[4 * k + 4]) < 1e-12);
});

Deno.test("svdOfProduct: reconstructs P·R, finds the rank, orthonormal factors", () => {
  const m = 57, k = 9, n = 31;
  const p = randomMatrix(m, k, 1), rr = randomMatrix(k, n, 2);
  for (let j = 0; j < n; j++) rr[8 * n + j] = rr[0 * n + j] + rr[3 * n + j]; // rank 8
  const { u, s, v, r } = svdOfProduct(p, rr, m, k, n);
  assert.equal(r, 8);
  const pr = matmul(p, rr, m, k, n);
  const usv = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      for (let c = 0; c < r; c++) usv[i * n + j] += u[i * r + c] * s[c] * v[j * r + c];
    }
  }
  for (let i = 0; i < m * n; i++) assert.ok(Math.abs(usv[i] - pr[i]) < 1e-9 * maxAbs(pr));
});
