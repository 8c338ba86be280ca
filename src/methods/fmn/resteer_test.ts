import assert from "node:assert/strict";
import { CpuBackend } from "../../../kernels/cpu/backend.ts";
import { matrix } from "../../../kernels/matrix.ts";
import { Random } from "../../sample/random.ts";
import { attentionMass, type AttentionProbe, resteer, type ResteerTarget } from "./resteer.ts";
import {
  keyDrift,
  keyProjector as keyProjectorOf,
  queryProjector as queryProjectorOf,
} from "./key_preservation.ts";

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

/** 20 preserved context rows spread over two random directions of the 6-wide context. */
function preservedRows(seed: number): Float32Array {
  const rng = new Random(seed, "preserved");
  const basis = [
    Float32Array.from({ length: 6 }, () => rng.normal()),
    Float32Array.from({ length: 6 }, () => rng.normal()),
  ];
  const rows = new Float32Array(20 * 6);
  for (let r = 0; r < 20; r++) {
    const a = rng.normal(), b = rng.normal();
    for (let j = 0; j < 6; j++) rows[r * 6 + j] = a * basis[0][j] + b * basis[1][j];
  }
  return rows;
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
  const rows = preservedRows(4);
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

/** Per-head logits q·k of fresh random queries against the preserved rows' keys (a layer's view of them). */
function preservedLogits(
  wq: Float32Array,
  wk: Float32Array,
  rows: Float32Array,
  channels: number,
  heads: number,
): number[] {
  const rng = new Random(9, "queries");
  const width = wk.length / channels, d = channels / heads;
  const keys = Array.from(
    { length: rows.length / width },
    (_, r) =>
      Array.from({ length: channels }, (_, o) => {
        let s = 0;
        for (let j = 0; j < width; j++) s += wk[o * width + j] * rows[r * width + j];
        return s;
      }),
  );
  const out: number[] = [];
  for (let n = 0; n < 11; n++) {
    const x = Array.from({ length: channels }, () => rng.normal());
    const q = Array.from(
      { length: channels },
      (_, o) => x.reduce((s, v, j) => s + wq[o * channels + j] * v, 0),
    );
    for (const k of keys) {
      for (let h = 0; h < heads; h++) {
        let s = 0;
        for (let i = h * d; i < (h + 1) * d; i++) s += q[i] * k[i];
        out.push(s);
      }
    }
  }
  return out;
}

Deno.test("FMN query preservation: preserved keys' logits stay put for any query; the concept's attention falls", async () => {
  const backend = new CpuBackend();
  const probe = fixedProbe();
  const { weights, target } = setup();
  const rows = preservedRows(5);
  const keyProjector = await keyProjectorOf(backend, rows, 6);
  const queryProjectors = new Map<string, Float32Array>();
  for (const l of probe.layers) {
    const name = `${l.module}.to_q.weight`;
    const wk = weights.get(`${l.module}.to_k.weight`)!;
    queryProjectors.set(name, await queryProjectorOf(backend, rows, wk, l.channels, l.heads));
  }
  const common = { backend, steps: 60, lr: 3e-2, alphasCumprod: alphas, seed: 3, weights, keyProjector };
  const keysOnly = await resteer(probe, [target], common);
  const both = await resteer(probe, [target], { ...common, queryProjectors });
  for (const l of probe.layers) {
    const at = (w: Map<string, Float32Array>) =>
      preservedLogits(
        w.get(`${l.module}.to_q.weight`)!,
        w.get(`${l.module}.to_k.weight`)!,
        rows,
        l.channels,
        l.heads,
      );
    const base = at(weights);
    const drift = (w: Map<string, Float32Array>) => {
      const v = at(w);
      return Math.sqrt(
        v.reduce((s, x, i) => s + (x - base[i]) ** 2, 0) / base.reduce((s, x) => s + x * x, 0),
      );
    };
    const free = drift(keysOnly.weights), kept = drift(both.weights);
    assert.ok(kept < 0.05 * free && kept < 0.05, `${l.module}: preserved logits drift ${free} → ${kept}`);
  }
  assert.ok(both.losses[59] < 0.5 * both.losses[0], `loss ${both.losses[0]} → ${both.losses[59]}`);
  await assert.rejects(
    () =>
      resteer(probe, [target], {
        ...common,
        queryProjectors: new Map([["a.attn2.to_q.weight", new Float32Array(3)]]),
      }),
    /query projector of a.attn2 has 3 values, expected 8²/,
  );
});

/** ‖P − P⁰‖ over both layers, all heads, queries and keys, for the anchor's context. */
async function anchorDriftOf(
  probe: AttentionProbe,
  context: Float32Array,
  w0: Map<string, Float32Array>,
  w1: Map<string, Float32Array>,
): Promise<number> {
  const backend = new CpuBackend();
  const xs = await probe.queryInputs(new Float32Array(16), 0, context, w1);
  let s = 0;
  for (const [l, layer] of probe.layers.entries()) {
    const w = (m: Map<string, Float32Array>, p: "q" | "k") =>
      matrix(
        layer.channels,
        p === "q" ? layer.channels : layer.contextDim,
        m.get(`${layer.module}.to_${p}.weight`)!,
      );
    const g = await backend.attentionGradient({
      x: matrix(xs[l].length / layer.channels, layer.channels, xs[l]),
      context: matrix(context.length / 6, 6, context),
      wq: w(w1, "q"),
      wk: w(w1, "k"),
      heads: layer.heads,
      keys: Array.from({ length: context.length / 6 }, (_, i) => i),
      rows: "drift",
      reference: { wq: w(w0, "q"), wk: w(w0, "k") },
    }, "sumOfSquares");
    s += g.sumOfSquares;
  }
  return Math.sqrt(s);
}

Deno.test("FMN attention anchors: the anchor prompt's attention moves far less while the concept's still falls", async () => {
  const backend = new CpuBackend();
  const probe = fixedProbe();
  const { weights, target } = setup();
  const rng = new Random(6, "anchor");
  // The anchor shares the target's other context rows (as prompts that differ in one word do); its rows at
  // the marked positions are its own.
  const own = (i: number) => target.positions.includes(Math.floor(i / 6));
  const context = target.context.map((v, i) => own(i) ? rng.normal() : v);
  const anchor = { prompt: "anchor", context, latents: [new Float32Array(16).fill(0.25)] };
  const common = { backend, steps: 60, lr: 3e-2, alphasCumprod: alphas, seed: 3, weights };
  const free = await resteer(probe, [target], common);
  const held = await resteer(probe, [target], { ...common, anchors: { targets: [anchor], weight: 0.5 } });
  const driftFree = await anchorDriftOf(probe, context, weights, free.weights);
  const driftHeld = await anchorDriftOf(probe, context, weights, held.weights);
  assert.ok(driftHeld < 0.3 * driftFree, `anchor drift ${driftFree} → ${driftHeld}`);
  assert.equal(held.anchorDrift!.length, 60);
  assert.equal(held.anchorDrift![0], 0); // the first step's anchor runs the initial weights
  assert.equal(free.anchorDrift, undefined);
  assert.ok(held.losses[59] < 0.5 * held.losses[0], `loss ${held.losses[0]} → ${held.losses[59]}`);
  await assert.rejects(
    () => resteer(probe, [target], { ...common, anchors: { targets: [anchor], weight: -1 } }),
    /anchors need at least one target and a weight of zero or more, got -1/,
  );
});
