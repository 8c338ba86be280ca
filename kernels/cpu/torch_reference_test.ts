import assert from "node:assert/strict";
import { matrix } from "../matrix.ts";
import { type AdamWOptions, CpuAdamW } from "./adamw.ts";
import { cpuAttentionGradient, cpuAttentionProbabilities, type CrossAttentionInput } from "./attention.ts";

interface Dense {
  rows: number;
  cols: number;
  data: number[];
}
interface Gradients {
  loss: number;
  gradWq: number[];
  gradWk: number[];
  gradQ: number[];
  gradK: number[];
}
interface AttentionCase {
  heads: number;
  keys: number[];
  x: Dense;
  context: Dense;
  wq: Dense;
  wk: Dense;
  probabilities: number[];
  sumOfSquares: Gradients;
  norm: Gradients;
}
interface Fixture {
  attention: AttentionCase[];
  adamw: { options: AdamWOptions; params: number[]; grads: number[][]; final: number[] };
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../tests/fixtures/kernels/torch_reference.json", import.meta.url)),
);
const dense = (d: Dense) => matrix(d.rows, d.cols, Float32Array.from(d.data));

function maxRelative(actual: ArrayLike<number>, expected: number[]): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

Deno.test("attention probabilities and gradients (W_q, W_k, Q, K) match PyTorch autograd (diffusers head layout)", () => {
  for (const c of fixture.attention) {
    const input: CrossAttentionInput = {
      x: dense(c.x),
      context: dense(c.context),
      wq: dense(c.wq),
      wk: dense(c.wk),
      heads: c.heads,
      keys: c.keys,
    };
    assert.ok(maxRelative(cpuAttentionProbabilities(input).data, c.probabilities) < 1e-5);
    for (const kind of ["sumOfSquares", "norm"] as const) {
      const got = cpuAttentionGradient(input, kind);
      const want = c[kind];
      assert.ok(
        Math.abs(got.loss - want.loss) <= 1e-6 * want.loss,
        `${kind} loss ${got.loss} vs ${want.loss}`,
      );
      assert.ok(maxRelative(got.gradWq.data, want.gradWq) < 1e-4, `${kind} dWq`);
      assert.ok(maxRelative(got.gradWk.data, want.gradWk) < 1e-4, `${kind} dWk`);
      assert.ok(maxRelative(got.gradQ.data, want.gradQ) < 1e-4, `${kind} dQ`);
      assert.ok(maxRelative(got.gradK.data, want.gradK) < 1e-4, `${kind} dK`);
    }
  }
});

Deno.test("AdamW matches torch.optim.AdamW over five steps", async () => {
  const { options, params, grads, final } = fixture.adamw;
  const opt = new CpuAdamW(Float32Array.from(params), options);
  for (const g of grads) await opt.update(Float32Array.from(g));
  assert.equal(opt.step, 5);
  assert.ok(maxRelative(await opt.read(), final) < 1e-6);
});
