/**
 * Quality on the toy world, measured with the project's own pipeline (DDIM 20 steps, the manifest's torch
 * seeds and guidance, ONNX judge): every concept's detection rate (issue goal ≥ 80%), and Forget-Me-Not's
 * evidence — an object, a style (without and with attention anchoring) and the four characters erased with
 * the toy recipes below (lr 3e-3), once preserving the other concepts and once those and the world's colours
 * and scenes: attention mass on its tokens, its detection rate, and the largest change of any other concept
 * (goals −90%, −60 points, within 10).
 *
 * `FORGET_TOY_MODEL=DIR` measures another model folder with the committed judge and manifest (used when
 * retraining).
 *
 * @module
 */
import type { BenchRow, BenchSuite } from "./types.ts";
import { loadModel, type Model } from "../src/api/model.ts";
import { compareVariants } from "../src/eval/compare.ts";
import { detectionRates } from "../src/eval/detection.ts";
import { Judge } from "../src/eval/judge.ts";
import { type BenchManifest, readManifest } from "../src/eval/manifest.ts";
import { toyManifestPath } from "../src/eval/toy_world.ts";
import { applyEdit } from "../src/patch/merge.ts";

/**
 * The toy recipe of Forget-Me-Not used for the evidence (README, BENCHMARKS.md, tests): lr 3e-3 (the reference's
 * 2e-6 barely moves local re-steering on this tiny model) and the other concepts preserved at the default ridge
 * (keys and queries). Styles keep the reference's positions (their tokens and every end-of-text/padding
 * position: a causal encoder carries a style word into the padding, and without it "striped" did not fall).
 */
export const TOY_FMN_RECIPE = { lr: 3e-3 } as const;

/**
 * The toy recipe for objects and characters: only the concept's own tokens (`eos: "none"`). Padding is in
 * every prompt, and a to_q trained away from it moved every other concept (up to −75 points).
 */
export const TOY_FMN_OBJECT_RECIPE = { ...TOY_FMN_RECIPE, eos: "none" } as const;

/** The toy recipe for characters: the object recipe with three times the reference's 35 steps. */
export const TOY_FMN_CHARACTER_RECIPE = { ...TOY_FMN_OBJECT_RECIPE, steps: 105 } as const;

/**
 * The toy recipe for styles: the reference's positions, 105 steps, the preserved texts held by attention
 * anchoring (weight 0.07) and projection loosened to ridge 2. At the default ridge, projection froze what the
 * style's word shares with the other styles' words (its own attention fell 8%); with no projection at all,
 * the anchors alone let objects drawn "on grass" or "on a beach" move 12–22 points.
 */
export const TOY_FMN_STYLE_RECIPE = {
  ...TOY_FMN_RECIPE,
  steps: 105,
  preserveRidge: 2,
  preserveAttention: 0.07,
} as const;

/** Concepts erased for the evidence (one object, one style, every character) and the recipe of each. */
const EVIDENCE: { concept: string; recipe: string; options: Record<string, unknown> }[] = [
  { concept: "ring", recipe: "object recipe (eos none)", options: TOY_FMN_OBJECT_RECIPE },
  { concept: "striped", recipe: "reference positions, no anchors", options: TOY_FMN_RECIPE },
  {
    concept: "striped",
    recipe: "style recipe (anchored, ridge 2, 105 steps)",
    options: TOY_FMN_STYLE_RECIPE,
  },
  ...["zorblax", "quimbo", "flarnip", "vextor"].map((concept) => ({
    concept,
    recipe: "character recipe (eos none, 105 steps)",
    options: TOY_FMN_CHARACTER_RECIPE,
  })),
];

/**
 * What each evidence erasure preserves: the other concepts at the default ridge, or those and the world's
 * other words (colours, scenes), as a user protecting everything the model should keep would, at ridge 0.5
 * (a set twice the size already fills more directions; at 0.05 it left too little room: zorblax −75, ring −50).
 */
const PRESERVE_SETS = [
  { label: "concepts", vocabulary: false, options: {} },
  { label: "concepts + vocabulary, ridge 0.5", vocabulary: true, options: { preserveRidge: 0.5 } },
] as const;

/** The toy-world quality suite. */
export const suite: BenchSuite = {
  name: "toy",
  async run(): Promise<BenchRow[]> {
    const path = await toyManifestPath();
    if (!path) return [];
    const manifest = await readManifest(path);
    const modelDir = Deno.env.get("FORGET_TOY_MODEL") ?? manifest.model;
    const model = await loadModel(modelDir, { backend: "cpu,ort-node", cacheDir: null, warn: () => {} });
    const judge = await Judge.open(manifest.judge, { backend: "ort-node" });
    const rows: BenchRow[] = [];
    try {
      const t = performance.now();
      const rates = await detectionRates(model.checkpoint, manifest, judge, { backend: "ort-node" });
      const n = rates[0].images.length;
      for (const r of rates) {
        rows.push({
          name: `detection: ${r.concept} (${r.category})`,
          value: 100 * r.rate,
          unit: "%",
          note: `${n} images; goal ≥ 80%`,
        });
      }
      rows.push({
        name: "detection: all concepts generated and judged",
        value: (performance.now() - t) / 1000,
        unit: "s",
        note: `${rates.length} concepts × ${n} images, DDIM 20 steps`,
      });
      for (const set of PRESERVE_SETS) {
        for (const evidence of EVIDENCE) rows.push(await fmnEvidence(model, manifest, judge, evidence, set));
      }
    } finally {
      await judge.close();
      model.close();
    }
    return rows;
  },
};

/** Erases one evidence concept with Forget-Me-Not and measures it against the base model (one bench row). */
async function fmnEvidence(
  model: Model,
  manifest: BenchManifest,
  judge: Judge,
  { concept, recipe, options }: (typeof EVIDENCE)[number],
  set: (typeof PRESERVE_SETS)[number],
): Promise<BenchRow> {
  const t = performance.now();
  const kept = manifest.concepts.map((c) => c.concept).filter((c) => c !== concept);
  const result = await model.forget(concept, {
    method: "fmn",
    ...set.options,
    ...options, // a recipe that sets its own ridge keeps it
    preserve: set.vocabulary ? [...kept, ...manifest.vocabulary] : kept,
  }).run();
  const secs = (performance.now() - t) / 1000;
  const patch = { key: concept, weights: await applyEdit(model.checkpoint.unet, result.edit) };
  const c = await compareVariants(
    model.checkpoint,
    manifest,
    judge,
    [
      { label: "base", patch: null },
      { label: "fmn", patch },
    ],
    [concept],
    { backend: "ort-node" },
  );
  const erased = c.rows.find((r) => r.erased)!;
  const change = (r: (typeof c.rows)[number]) => r.rates.fmn - r.rates.base;
  const worst = c.rows.filter((r) => !r.erased)
    .reduce((w, r) => Math.abs(change(r)) > Math.abs(change(w)) ? r : w);
  const mass = result.fmnReport!.massReduction[concept];
  const marked = result.fmnReport!.markedMass[concept];
  const pct = (v: number) => Math.round(100 * v);
  return {
    name: `FMN ${recipe}, preserving ${set.label}, erase ${concept}: detection change`,
    value: pct(change(erased)),
    unit: "points",
    note: `${pct(erased.rates.base)}% → ${pct(erased.rates.fmn)}%; attention on its tokens −${
      (100 * mass).toFixed(1)
    }%, on every marked position ${marked.before.toFixed(3)} → ${
      marked.after.toFixed(3)
    }; largest other change ${worst.concept} ${pct(worst.rates.base)} → ${pct(worst.rates.fmn)}; ${
      secs.toFixed(1)
    } s to erase`,
  };
}
