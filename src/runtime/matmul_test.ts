import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { matmul, measureMatMulPeak, ortMatMulProvider } from "./matmul.ts";
import { cachedSessionCount } from "./session_cache.ts";

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** Reference C[b] = op(A[b])·op(B[b]) in float64, operands given as [batch, rows, cols]. */
function reference(a: Float32Array, ad: number[], b: Float32Array, bd: number[], ta: boolean, tb: boolean) {
  const [ba, ar, ac] = ad.length === 3 ? ad : [1, ...ad];
  const [bb, br, bc] = bd.length === 3 ? bd : [1, ...bd];
  const batch = Math.max(ba, bb);
  const [m, k] = ta ? [ac, ar] : [ar, ac];
  const n = tb ? br : bc;
  const out = new Float32Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const ao = ba === 1 ? 0 : p * ar * ac;
    const bo = bb === 1 ? 0 : p * br * bc;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          s += a[ao + (ta ? q * ac + i : i * ac + q)] * b[bo + (tb ? j * bc + q : q * bc + j)];
        }
        out[p * m * n + i * n + j] = s;
      }
    }
  }
  return out;
}

for (const backend of ["ort-web", "ort-node"] as const) {
  Deno.test(`matmul on ${backend}: all transpose flags and a broadcast batch match float64`, async () => {
    const cases: [number[], number[], boolean, boolean][] = [
      [[37, 19], [19, 23], false, false],
      [[19, 37], [19, 23], true, false],
      [[37, 19], [23, 19], false, true],
      [[19, 37], [23, 19], true, true],
      [[3, 17, 11], [3, 11, 5], false, false],
      [[3, 17, 11], [5, 11], false, true],
    ];
    for (const [i, [ad, bd, ta, tb]] of cases.entries()) {
      const a = random(ad.reduce((x, y) => x * y), 10 + i);
      const b = random(bd.reduce((x, y) => x * y), 20 + i);
      const c = await matmul({ data: a, dims: ad }, { data: b, dims: bd }, ta, tb, backend);
      const ref = reference(a, ad, b, bd, ta, tb);
      deepStrictEqual(c.data.length, ref.length);
      let err = 0;
      for (let j = 0; j < ref.length; j++) err = Math.max(err, Math.abs(c.data[j] - ref[j]));
      ok(err < 1e-5, `case ${i}: max error ${err}`);
    }
    const sessions = cachedSessionCount();
    await matmul(
      { data: random(4, 1), dims: [2, 2] },
      { data: random(4, 2), dims: [2, 2] },
      false,
      false,
      backend,
    );
    deepStrictEqual(cachedSessionCount(), sessions); // same graph shape class: no new session
  });
}

Deno.test("matmul: mismatched shapes get a clear error; the peak is a positive rate", async () => {
  await rejects(
    matmul({ data: new Float32Array(6), dims: [2, 3] }, { data: new Float32Array(8), dims: [4, 2] }),
    /inner dimensions differ/,
  );
  await rejects(
    matmul({ data: new Float32Array(5), dims: [2, 3] }, { data: new Float32Array(6), dims: [3, 2] }),
    /5 elements/,
  );
  ok((await measureMatMulPeak("ort-web", 64, 0.01)) > 0);
});

Deno.test("ortMatMulProvider: rows/cols matrices in and out, transposes honoured", async () => {
  const a = { rows: 3, cols: 2, data: new Float32Array([1, 2, 3, 4, 5, 6]) };
  const b = { rows: 3, cols: 2, data: new Float32Array([1, 0, 0, 1, 1, 1]) };
  const c = await ortMatMulProvider("ort-node").matmul(a, b, true, false); // Aᵀ·B: 2×2
  deepStrictEqual([c.rows, c.cols, [...c.data]], [2, 2, [6, 8, 8, 10]]);
});
