import assert from "node:assert/strict";
import { cpuAttentionGradient, cpuAttentionProbabilities } from "../cpu/attention.ts";
import { matrix, relativeMaxError } from "../matrix.ts";
import { randomMatrix } from "../random.ts";
import { gpuAttentionGradient, gpuAttentionProbabilities } from "./attention.ts";
import { gpuForTests } from "./test_support.ts";

const ctx = await gpuForTests();

const cases = [
  // [queries, C, tokens, d_ctx, inner, heads, keys]
  [1, 7, 5, 6, 8, 2, [1]],
  [65, 33, 77, 40, 40, 5, [4, 5, 6]],
  [130, 64, 77, 48, 64, 8, [0, 5, 76]],
] as const;

Deno.test({
  name:
    "GPU attention probabilities and gradients match the CPU twin (squares, mass and drift rows, S and √S)",
  ignore: !ctx,
  async fn() {
    let seed = 1;
    for (const [nq, c, nk, dctx, inner, heads, keys] of cases) {
      const input = {
        x: randomMatrix(nq, c, seed++),
        context: randomMatrix(nk, dctx, seed++),
        wq: randomMatrix(inner, c, seed++, 0.3),
        wk: randomMatrix(inner, dctx, seed++, 0.3),
        heads,
        keys: [...keys],
        reference: { wq: randomMatrix(inner, c, seed++, 0.3), wk: randomMatrix(inner, dctx, seed++, 0.3) },
      };
      const pGpu = await gpuAttentionProbabilities(ctx!, input);
      const pCpu = cpuAttentionProbabilities(input);
      const shape = [heads * nq, keys.length] as const;
      assert.ok(relativeMaxError(matrix(...shape, pGpu.data), matrix(...shape, pCpu.data)) < 1e-4);
      for (
        const [loss, rows] of [
          ["sumOfSquares", "squares"],
          ["norm", "squares"],
          ["norm", "mass"],
          ["sumOfSquares", "drift"],
          ["norm", "drift"],
        ] as const
      ) {
        const g = await gpuAttentionGradient(ctx!, { ...input, rows }, loss);
        const w = cpuAttentionGradient({ ...input, rows }, loss);
        assert.ok(Math.abs(g.loss - w.loss) <= 1e-4 * Math.abs(w.loss), `${loss}: ${g.loss} vs ${w.loss}`);
        const eq = relativeMaxError(g.gradWq, w.gradWq);
        const ek = relativeMaxError(g.gradWk, w.gradWk);
        assert.ok(eq < 1e-3 && ek < 1e-3, `nq=${nq} ${loss}/${rows}: dWq ${eq}, dWk ${ek}`);
        const eQ = relativeMaxError(g.gradQ, w.gradQ);
        const eK = relativeMaxError(g.gradK, w.gradK);
        assert.ok(eQ < 1e-3 && eK < 1e-3, `nq=${nq} ${loss}/${rows}: dQ ${eQ}, dK ${eK}`);
      }
    }
  },
});

Deno.test({ name: "free the attention test device", fn: () => ctx?.device.destroy() });
