import assert from "node:assert/strict";
import { CpuBackend } from "../../../kernels/cpu/backend.ts";
import { Random } from "../../sample/random.ts";
import { attentionMass, type AttentionProbe, resteer, type ResteerTarget } from "./resteer.ts";
import { keyDrift, keyProjector as keyProjectorOf } from "./key_preservation.ts";

/** A probe whose attn2 inputs do not depend on the weights (one layer's queries are fixed random rows). */
function fixedProbe(): AttentionProbe {
  const layers = [
    { module: "a.attn2", heads: 2, channels: 8, contextDim: 6 },
    { module: "b.attn2", heads: 1, channels: 5, contextDim: 6 },
  ];
  const rng = new Random(1, "probe");
  const xs = [
    Float32Array.from({ length: 13 * 8 }, () => rng.normal()),
    Float32Array.from({ length: 7 * 5 }, () => rng.normal()),
  ];
  return { layers, latentShape: [4, 2, 2], queryInputs: () => Promise.resolve(xs.map((x) => x.slice())) };
}

function setup() {
  const rng = new Random(2, "setup");
  const weights = new Map<string, Float32Array>();
  for (const [m, c] of [["a.attn2", 8], ["b.attn2", 5]] as const) {
    weights.set(`${m}.to_q.weight`, Float32Array.from({ length: c * c }, () => rng.normal() * 0.5));
    weights.set(`${m}.to_k.weight`, Float32Array.from({ length: c * 6 }, () => rng.normal() * 0.5));
  }
  const target: ResteerTarget = {
    concept: "x",
    context: Float32Array.from({ length: 9 * 6 }, () => rng.normal()),
    positions: [3, 4, 8],
    conceptPositions: [3, 4],
    latents: [new Float32Array(16).fill(0.5)],
  };
  return { weights, target };
}

const alphas = Float32Array.from({ length: 1000 }, (_, t) => 1 - t / 1000);

for (const loss of ["global", "per-layer"] as const) {
  Deno.test(`FMN re-steering (${loss} loss) drives the concept's attention mass down, deterministically`, async () => {
    const backend = new CpuBackend();
    const probe = fixedProbe();
    const { weights, target } = setup();
    const [before] = await attentionMass(
      backend,
      probe,
      new Float32Array(16),
      0,
      target.context,
      [target.positions],
      weights,
    );
    const opts = { backend, steps: 60, lr: 3e-2, alphasCumprod: alphas, seed: 3, weights, loss };
    const r = await resteer(probe, [target], opts);
    const [after] = await attentionMass(
      backend,
      probe,
      new Float32Array(16),
      0,
      target.context,
      [target.positions],
      r.weights,
    );
    assert.equal(r.losses.length, 60);
    assert.ok(r.losses[59] < 0.2 * r.losses[0], `loss ${r.losses[0]} → ${r.losses[59]}`);
    before.forEach((b, l) => assert.ok(after[l] < 0.3 * b, `layer ${l}: ${b} → ${after[l]}`));
    const again = await resteer(probe, [target], opts);
    assert.deepEqual(again.losses, r.losses);
    // The input weights are not modified in place.
    assert.notDeepEqual(weights.get("a.attn2.to_q.weight"), r.weights.get("a.attn2.to_q.weight"));
  });
}

Deno.test("FMN key preservation: preserved rows' keys stay put while the concept's attention still falls", async () => {
  const backend = new CpuBackend();
  const probe = fixedProbe();
  const { weights, target } = setup();
  const rng = new Random(4, "preserved");
  // Two preserved directions of the 6-wide context: rows spread over them.
  const basis = [
    Float32Array.from({ length: 6 }, () => rng.normal()),
    Float32Array.from({ length: 6 }, () => rng.normal()),
  ];
  const rows = new Float32Array(20 * 6);
  for (let r = 0; r < 20; r++) {
    const a = rng.normal(), b = rng.normal();
    for (let j = 0; j < 6; j++) rows[r * 6 + j] = a * basis[0][j] + b * basis[1][j];
  }
  const keyProjector = await keyProjectorOf(backend, rows, 6);
  const common = { backend, steps: 60, lr: 3e-2, alphasCumprod: alphas, seed: 3, weights };
  const free = await resteer(probe, [target], common);
  const kept = await resteer(probe, [target], { ...common, keyProjector });
  for (const m of ["a.attn2", "b.attn2"]) {
    const name = `${m}.to_k.weight`;
    const out = weights.get(name)!.length / 6;
    const driftFree = await keyDrift(backend, weights.get(name)!, free.weights.get(name)!, out, rows);
    const driftKept = await keyDrift(backend, weights.get(name)!, kept.weights.get(name)!, out, rows);
    assert.ok(driftKept < 0.1 * driftFree && driftKept < 0.02, `${m}: drift ${driftFree} → ${driftKept}`);
  }
  assert.ok(kept.losses[59] < 0.5 * kept.losses[0], `loss ${kept.losses[0]} → ${kept.losses[59]}`);
});

Deno.test("FMN scope k trains to_k only", async () => {
  const backend = new CpuBackend();
  const { weights, target } = setup();
  const r = await resteer(fixedProbe(), [target], {
    backend,
    steps: 5,
    lr: 1e-2,
    alphasCumprod: alphas,
    seed: 3,
    weights,
    scope: "k",
  });
  assert.deepEqual(r.weights.get("a.attn2.to_q.weight"), weights.get("a.attn2.to_q.weight"));
  assert.notDeepEqual(r.weights.get("a.attn2.to_k.weight"), weights.get("a.attn2.to_k.weight"));
});
