import assert from "node:assert/strict";
import { randomMatrix } from "../random.ts";
import { cpuAttentionGradient, cpuAttentionProbabilities, type CrossAttentionInput } from "./attention.ts";

function input(): CrossAttentionInput {
  return {
    x: randomMatrix(6, 10, 1),
    context: randomMatrix(9, 7, 2),
    wq: randomMatrix(12, 10, 3, 0.5),
    wk: randomMatrix(12, 7, 4, 0.5),
    heads: 3,
    keys: [2, 4, 8],
    reference: { wq: randomMatrix(12, 10, 5, 0.5), wk: randomMatrix(12, 7, 6, 0.5) },
  };
}

Deno.test("attention probabilities: rows over all keys sum to 1; restricted columns are those entries", () => {
  const all = cpuAttentionProbabilities({ ...input(), keys: [0, 1, 2, 3, 4, 5, 6, 7, 8] });
  for (let r = 0; r < 3 * 6; r++) {
    let s = 0;
    for (let k = 0; k < 9; k++) s += all.data[r * 9 + k];
    assert.ok(Math.abs(s - 1) < 1e-6);
  }
  const some = cpuAttentionProbabilities(input());
  assert.equal(some.data[5 * 3 + 1], all.data[5 * 9 + 4]);
});

Deno.test("attention gradients equal central finite differences of the float64 loss", () => {
  for (
    const [kind, rows] of [
      ["sumOfSquares", "squares"],
      ["norm", "squares"],
      ["sumOfSquares", "mass"],
      ["norm", "mass"],
      ["sumOfSquares", "drift"],
      ["norm", "drift"],
    ] as const
  ) {
    const base = { ...input(), rows };
    const g = cpuAttentionGradient(base, kind);
    for (const [which, index] of [["wq", 7], ["wq", 100], ["wk", 3], ["wk", 77]] as const) {
      const h = rows === "drift" ? 3e-3 : 1e-2; // the drift loss curves more: a smaller step keeps the truncation error in bounds
      const plus = { ...base, [which]: { ...base[which], data: Float32Array.from(base[which].data) } };
      const minus = { ...base, [which]: { ...base[which], data: Float32Array.from(base[which].data) } };
      plus[which].data[index] += h;
      minus[which].data[index] -= h;
      const numeric = (cpuAttentionGradient(plus, kind).loss - cpuAttentionGradient(minus, kind).loss) /
        (plus[which].data[index] - minus[which].data[index]);
      const analytic = (which === "wq" ? g.gradWq : g.gradWk).data[index];
      assert.ok(
        Math.abs(numeric - analytic) <= 2e-3 * Math.max(1e-3, Math.abs(analytic)) + 1e-6,
        `${kind}/${rows} ${which}[${index}]: numeric ${numeric}, analytic ${analytic}`,
      );
    }
  }
});

Deno.test("attention mass rows: S is the sum over rows of the squared restricted mass", () => {
  const p = cpuAttentionProbabilities(input());
  let expected = 0;
  for (let r = 0; r < p.heads * p.queries; r++) {
    const m = p.data[r * 3] + p.data[r * 3 + 1] + p.data[r * 3 + 2];
    expected += m * m;
  }
  const g = cpuAttentionGradient({ ...input(), rows: "mass" }, "sumOfSquares");
  assert.ok(Math.abs(g.sumOfSquares - expected) <= 1e-5 * expected, `${g.sumOfSquares} vs ${expected}`);
});

Deno.test("attention drift rows: S is Σ (P − P⁰)² against the reference weights' probabilities, 0 at the reference", () => {
  const keys = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const p = cpuAttentionProbabilities({ ...input(), keys });
  const p0 = cpuAttentionProbabilities({ ...input(), ...input().reference!, keys });
  let expected = 0;
  for (let i = 0; i < p.data.length; i++) expected += (p.data[i] - p0.data[i]) ** 2;
  const g = cpuAttentionGradient({ ...input(), keys, rows: "drift" }, "sumOfSquares");
  assert.ok(
    expected > 0 && Math.abs(g.sumOfSquares - expected) <= 1e-5 * expected,
    `${g.sumOfSquares} vs ${expected}`,
  );
  const same = cpuAttentionGradient({ ...input(), ...input().reference!, keys, rows: "drift" }, "norm");
  assert.equal(same.loss, 0);
  assert.ok(same.gradWq.data.every((v) => v === 0) && same.gradWk.data.every((v) => v === 0));
});

Deno.test("attention rejects mismatched shapes, bad heads and bad key indices", () => {
  assert.throws(() => cpuAttentionProbabilities({ ...input(), heads: 5 }), /heads = 5/);
  assert.throws(() => cpuAttentionProbabilities({ ...input(), keys: [9] }), /key index 9/);
  assert.throws(
    () => cpuAttentionProbabilities({ ...input(), wq: randomMatrix(12, 11, 5) }),
    /W_q is \[12, 11\]/,
  );
  assert.throws(
    () => cpuAttentionGradient({ ...input(), rows: "drift", reference: undefined }, "norm"),
    /need reference/,
  );
  assert.throws(
    () =>
      cpuAttentionGradient({
        ...input(),
        rows: "drift",
        reference: { wq: randomMatrix(12, 10, 7), wk: randomMatrix(12, 6, 8) },
      }, "norm"),
    /reference weights/,
  );
});
