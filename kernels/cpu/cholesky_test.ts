import assert from "node:assert/strict";
import { matrix64, relativeMaxError } from "../matrix.ts";
import { randomNormal, spdWithCondition } from "../random.ts";
import { choleskyFactor64, cpuSolveSPD, residual64 } from "./cholesky.ts";

Deno.test("float64 Cholesky reconstructs A and solves ill-conditioned systems to cond·eps64", () => {
  for (const [n, condition] of [[1, 1], [7, 1e2], [33, 1e4], [130, 1e6]] as const) {
    const a = spdWithCondition(n, condition, n);
    const l = choleskyFactor64(a);
    const llt = matrix64(n, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < n; p++) s += l.data[i * n + p] * l.data[j * n + p];
        llt.data[i * n + j] = s;
      }
    }
    assert.ok(relativeMaxError(llt, a) < 1e-13, `n=${n}: L·Lᵀ differs from A`);
    const xTrue = matrix64(n, 5, randomNormal(n * 5, 100 + n));
    const b = matrix64(n, 5, new Float64Array(n * 5));
    const r0 = residual64(a, xTrue, b); // b − A·x = −A·x
    const rhs = matrix64(n, 5, r0.data.map((v) => -v));
    const result = cpuSolveSPD(a, rhs);
    const err = relativeMaxError(result.x, xTrue);
    console.log(
      `cpu f64 solve n=${n} κ=${condition}: error ${err.toExponential(2)}, residual ${
        result.relativeResidual.toExponential(2)
      }`,
    );
    assert.ok(err < condition * 1e-13, `n=${n} κ=${condition}: error ${err}`);
    assert.ok(result.relativeResidual < 1e-13);
  }
});

Deno.test("Cholesky rejects a matrix that is not positive definite, naming the pivot", () => {
  assert.throws(
    () => choleskyFactor64(matrix64(2, 2, new Float64Array([1, 2, 2, 1]))),
    /not positive definite \(pivot 1 of 2/,
  );
  assert.throws(() => cpuSolveSPD(matrix64(2, 2), matrix64(3, 1)), /B has 3 rows/);
});

Deno.test("blocked solve handles more right-hand sides than one column chunk", () => {
  const a = spdWithCondition(150, 1e3, 77);
  const b = matrix64(150, 300, randomNormal(150 * 300, 78));
  const result = cpuSolveSPD(a, b);
  assert.ok(result.relativeResidual < 1e-13, `residual ${result.relativeResidual}`);
});
