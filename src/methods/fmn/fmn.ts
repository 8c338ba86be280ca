/**
 * Forget-Me-Not end to end: reference latents, the concept's prompt and token positions, optional
 * preservation of other texts (projection of the key/query changes, attention anchors), local attention
 * re-steering of every cross-attention `to_q`/`to_k`, and the change exported as low-rank deltas (an Edit).
 *
 * @module
 */
import type { Backend, RowPenalty } from "../../../kernels/backend.ts";
import type { Checkpoint } from "../../formats/checkpoint.ts";
import { crossAttentionHash } from "../../formats/hash.ts";
import { checkpointTokenizers } from "../../formats/tokenizers.ts";
import { promptEncoderModel } from "../../models/checkpoint_encoders.ts";
import { encodePrompts } from "../../models/encode_prompts.ts";
import { alphasCumprod } from "../../sample/noise_schedule.ts";
import { vaeScaleFactor } from "../../models/config.ts";
import type { BackendName } from "../../runtime/session.ts";
import { denseToLowRank } from "../../patch/dense_low_rank.ts";
import { type Edit, type LowRankDelta, TOOL_VERSION } from "../../patch/edit.ts";
import { randn } from "../../sample/random.ts";
import { conceptPositions, type EosPolicy, FMN_TEMPLATES } from "./concept_positions.ts";
import { referenceLatents } from "./reference_images.ts";
import { KEY_PRESERVATION_RIDGE, keyDrift, keyProjector, queryProjector } from "./key_preservation.ts";
import { type AnchorTarget, attentionMass, resteer, type ResteerTarget } from "./resteer.ts";
import { unetProbe } from "./unet_probe.ts";

/** Settings of {@linkcode fmnErase}; defaults are the reference recipe's. */
export interface FmnSettings {
  /** `object` ("a photo of {}", also identities) or `style` ("a photo in the style of {}"). */
  kind: "object" | "style";
  /** Steps per concept (default 35: the budget grows with the number of concepts). */
  steps: number;
  /** AdamW learning rate (default 2e-6). */
  lr: number;
  /** AdamW weight decay (default 0.01). */
  weightDecay: number;
  /** `global` (the reference's one L2 norm) or `per-layer`. */
  loss: "global" | "per-layer";
  /**
   * What each (head, query) row of probabilities adds to the loss: `squares` (the reference: Σ P² over the
   * marked positions) or `mass` ((Σ P)²: the total attention on them, however thinly it is spread).
   */
  penalty: RowPenalty;
  /** End-of-text positions in the mask (default `all`, as the reference's `use_pooler`). */
  eos: EosPolicy;
  /** PNG folder of reference images (one for all concepts); absent: the model generates them. */
  images?: string;
  /** Generated reference images per concept (default 4). */
  imageCount: number;
  /** Largest relative error of the exported low-rank deltas (default 1e-2). */
  tolerance: number;
  /** Seed. */
  seed: number;
  /** Image size (default the model's native size). */
  size?: { width: number; height: number };
  /** Which projections train: `qk` (to_q and to_k, where the loss's gradient reaches; default) or `k`. */
  scope: "qk" | "k";
  /**
   * Texts whose keys must stay put (key preservation, not in the reference recipe; default none): each is
   * encoded bare and in the template, and every to_k changes only in directions those prompts hardly use.
   */
  preserve: string[];
  /** Relative ridge ρ of key preservation (default 0.05; larger lets the keys move more). */
  preserveRidge: number;
  /**
   * With `preserve`: confine every to_k change (and with `preserveQueries` every to_q change) by projection,
   * as above (default true). False leaves the preserved texts to attention anchoring alone.
   */
  preserveKeys: boolean;
  /**
   * With `preserve` and scope `qk`: also confine every to_q change to query directions that the preserved
   * prompts' keys hardly meet (same ridge), so re-steered queries keep the other prompts' attention (default
   * true; a to_q trained freely moves the attention of every prompt).
   */
  preserveQueries: boolean;
  /**
   * Attention anchoring of the preserved texts (not in the reference recipe; default 0, off): each preserved
   * text in the kind's template becomes an anchor prompt with `imageCount` images the model generates from it,
   * and every step adds this weight times ‖P − P⁰‖ — how far the anchor's cross-attention (all layers, heads,
   * queries and keys, on one of its noised images) moved from the base model's — to the loss. Unlike key
   * and query preservation, which keep every preserved key's logits for every image, this keeps the
   * preserved prompts' attention on their own images only, so the concept's queries may still change.
   */
  preserveAttention: number;
  /**
   * Prompt templates (`{}` = the concept); default the reference's one per kind. With several, the steps go
   * round the templates, so re-steering also covers the phrasings users write; reference images come from
   * the first.
   */
  templates?: string[];
}

/** Seeds of the anchors' images start here (the concepts' reference images use seed + 1000·i). */
const ANCHOR_SEED_OFFSET = 500_000;

/** The reference recipe's settings. */
export const FMN_DEFAULTS: FmnSettings = {
  kind: "object",
  steps: 35,
  lr: 2e-6,
  weightDecay: 0.01,
  loss: "global",
  penalty: "squares",
  eos: "all",
  imageCount: 4,
  tolerance: 1e-2,
  seed: 0,
  scope: "qk",
  preserve: [],
  preserveRidge: KEY_PRESERVATION_RIDGE,
  preserveKeys: true,
  preserveQueries: true,
  preserveAttention: 0,
};

/** What Forget-Me-Not did, for `--json` reports. */
export interface FmnReport {
  /** Loss per step. */
  losses: number[];
  /** Mean attention probability on each concept's own tokens, per layer, before and after. */
  attentionMass: { concept: string; before: number[]; after: number[] }[];
  /** Per concept: 1 − (mass after / mass before), over all layers. */
  massReduction: Record<string, number>;
  /**
   * Per concept: the mean over layers of the attention on every marked position (its tokens plus the
   * end-of-text / following positions the policy adds), before and after.
   */
  markedMass: Record<string, { before: number; after: number }>;
  /** Seconds per phase. */
  timings: Record<string, number>;
  /** Per exported delta: rank and relative error. */
  deltas: { module: string; rank: number; relativeError: number }[];
  /** With key preservation: the largest ‖ΔW_k·Φᵀ‖/‖W_k·Φᵀ‖ over layers (Φ: the preserved prompts' rows). */
  preservedKeyDrift?: number;
  /** With attention anchoring: ‖P − P⁰‖ of each step's anchor prompt (before that step's update). */
  anchorDrift?: number[];
  /** Settings used. */
  settings: FmnSettings;
}

/** Options of {@linkcode fmnErase}. */
export interface FmnOptions {
  /** Compute backend (gradients, AdamW). */
  backend: Backend;
  /** ONNX Runtime build (UNet, VAE, text encoder). */
  runtime?: BackendName;
  /** Progress: phases and steps. */
  onPhase?: (phase: string) => void;
  /** Called after each training step. */
  onStep?: (step: number, steps: number, loss: number) => void;
}

/**
 * Re-steers the model's cross-attention away from `concepts` and returns the change as an Edit.
 *
 * @example
 * ```ts ignore
 * import { fmnErase, FMN_DEFAULTS } from "./fmn.ts";
 * const { edit, report } = await fmnErase(ckpt, ["zebra"], { ...FMN_DEFAULTS, images: "./zebra" }, { backend });
 * ```
 */
export async function fmnErase(
  ckpt: Checkpoint,
  concepts: string[],
  settings: FmnSettings,
  options: FmnOptions,
): Promise<{ edit: Edit; report: FmnReport }> {
  const { backend } = options;
  const runtime = options.runtime;
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
    options.onPhase?.(phase);
    const t = performance.now();
    try {
      return await f();
    } finally {
      timings[phase] = (timings[phase] ?? 0) + (performance.now() - t) / 1000;
    }
  };
  if (!concepts.length) throw new RangeError("give at least one concept");
  checkSettings(settings);
  // Checked here, not in checkSettings: a plan's .preserve() texts join the settings only when it runs.
  if (settings.preserveAttention > 0 && !settings.preserve.length) {
    throw new RangeError(
      "preserve attention: give texts to preserve (--preserve / preserve), the anchors are made from them",
    );
  }
  if (ckpt.config.unet.addition_embed_type === "text_time") {
    throw new Error(
      "Forget-Me-Not is not available for SDXL yet (its added conditioning is not wired into the probe)",
    );
  }
  const factor = vaeScaleFactor(ckpt.config.vae);
  const width = settings.size?.width ?? ckpt.config.unet.sample_size * factor;
  const height = settings.size?.height ?? ckpt.config.unet.sample_size * factor;

  // Prompts, contexts and positions.
  const encoder = await promptEncoderModel(ckpt);
  const [tok] = await checkpointTokenizers(ckpt);
  const templates = settings.templates?.length ? settings.templates : [FMN_TEMPLATES[settings.kind]];
  const prompts = concepts.flatMap((c) => templates.map((t) => t.replaceAll("{}", c)));
  const emb = await timed("encode", () => encodePrompts(encoder, prompts, { backend: runtime }));
  const rowSize = emb.sequence * emb.width;
  // One target per concept and template, concept-major: the first template's is the concept's own (reports).
  const perConcept: ResteerTarget[][] = [];
  for (let i = 0; i < concepts.length; i++) {
    const latents = await timed("reference-images", () =>
      referenceLatents(ckpt, {
        folder: settings.images,
        prompt: prompts[i * templates.length],
        count: settings.imageCount,
        width,
        height,
        backend: runtime,
        seed: settings.seed + 1000 * i,
      }));
    const conceptIds = tok.tokenize(concepts[i]);
    perConcept.push(templates.map((_, k) => {
      const p = i * templates.length + k;
      const enc = tok.encode(prompts[p]);
      const pos = conceptPositions(enc.ids, enc.length, conceptIds, 49407, settings.eos);
      return {
        concept: concepts[i],
        context: emb.hiddenStates.slice(p * rowSize, (p + 1) * rowSize),
        positions: pos.positions,
        conceptPositions: pos.conceptPositions,
        latents,
      };
    }));
  }
  // Round robin: concept by concept within each template, so every concept gets a step before any repeats.
  const schedule = templates.flatMap((_, k) => perConcept.map((ts) => ts[k]));
  const targets = perConcept.map((ts) => ts[0]);

  // Preservation: each preserved text bare and in the template. Their context rows define the directions
  // to_k must not change (projection); the templated ones, with images the base model draws of them, are the
  // attention anchors.
  let preservedRows: Float32Array | undefined;
  let projector: Float32Array | undefined;
  let anchors: { targets: AnchorTarget[]; weight: number } | undefined;
  if (settings.preserve.length) {
    const templated = settings.preserve.map((p) => FMN_TEMPLATES[settings.kind].replace("{}", p));
    const texts = settings.preserve.flatMap((p, i) => [p, templated[i]]);
    const kept = await timed("encode", () => encodePrompts(encoder, texts, { backend: runtime }));
    preservedRows = kept.hiddenStates;
    if (settings.preserveKeys) {
      projector = await timed(
        "key-preservation",
        () => keyProjector(backend, kept.hiddenStates, kept.width, settings.preserveRidge),
      );
    }
    if (settings.preserveAttention > 0) {
      const targets: AnchorTarget[] = [];
      for (const [i, prompt] of templated.entries()) {
        targets.push({
          prompt,
          context: kept.hiddenStates.slice((2 * i + 1) * rowSize, (2 * i + 2) * rowSize),
          latents: await timed("anchor-images", () =>
            referenceLatents(ckpt, {
              prompt,
              count: settings.imageCount,
              width,
              height,
              backend: runtime,
              seed: settings.seed + ANCHOR_SEED_OFFSET + 1000 * i,
            })),
        });
      }
      anchors = { targets, weight: settings.preserveAttention };
    }
  }

  // Re-steering.
  const probe = unetProbe(ckpt, { height: height / factor, width: width / factor, backend: runtime });
  const initial = new Map<string, Float32Array>();
  for (const l of ckpt.crossAttention) {
    initial.set(`${l.module}.to_q.weight`, await ckpt.unet.readFloat32(l.toQ));
    initial.set(`${l.module}.to_k.weight`, await ckpt.unet.readFloat32(l.toK));
  }
  let queryProjectors: Map<string, Float32Array> | undefined;
  if (projector && settings.preserveQueries && settings.scope === "qk") {
    queryProjectors = new Map();
    for (const l of probe.layers) {
      const wk = initial.get(`${l.module}.to_k.weight`)!;
      queryProjectors.set(
        `${l.module}.to_q.weight`,
        await timed(
          "query-preservation",
          () => queryProjector(backend, preservedRows!, wk, l.channels, l.heads, settings.preserveRidge),
        ),
      );
    }
  }
  const ac = Float32Array.from(alphasCumprod("scaled_linear", 0.00085, 0.012, 1000));
  const evalLatents = targets.map((t, i) => {
    // A fixed mid-schedule noisy latent per concept for the before/after attention report.
    const noise = randn(t.latents[0].length, settings.seed, `fmn-eval-${i}`);
    const a = Math.sqrt(ac[500]), b = Math.sqrt(1 - ac[500]);
    return t.latents[0].map((v, j) => a * v + b * noise[j]);
  });
  // Per concept: [mass on its own tokens, mass on every marked position], each per layer.
  const massOf = (weights: ReadonlyMap<string, Float32Array>) =>
    Promise.all(
      targets.map((t, i) =>
        attentionMass(
          backend,
          probe,
          evalLatents[i],
          500,
          t.context,
          [t.conceptPositions, t.positions],
          weights,
        )
      ),
    );
  const before = await timed("attention-before", () => massOf(initial));
  const totalSteps = settings.steps * concepts.length;
  const result = await timed("resteer", () =>
    resteer(probe, schedule, {
      backend,
      steps: totalSteps,
      lr: settings.lr,
      weightDecay: settings.weightDecay,
      loss: settings.loss,
      penalty: settings.penalty,
      alphasCumprod: ac,
      seed: settings.seed,
      weights: initial,
      scope: settings.scope,
      keyProjector: projector,
      queryProjectors,
      anchors,
      onStep: (s, loss) => options.onStep?.(s, totalSteps, loss),
    }));
  const after = await timed("attention-after", () => massOf(result.weights));

  // Export: ΔW per to_q / to_k as the smallest LoRA within the tolerance.
  const deltas: LowRankDelta[] = await timed("export", async () => {
    const out: LowRankDelta[] = [];
    for (const l of ckpt.crossAttention) {
      for (
        const [name, suffix] of [[`${l.module}.to_q.weight`, "to_q"], [
          `${l.module}.to_k.weight`,
          "to_k",
        ]] as const
      ) {
        const w0 = initial.get(name)!, w1 = result.weights.get(name)!;
        const diff = w1.map((v, i) => v - w0[i]);
        const [outDim, inDim] = ckpt.unet.info(name).shape;
        const d = await denseToLowRank(backend, `${l.module}.${suffix}`, diff, outDim, inDim, {
          tolerance: settings.tolerance,
        });
        if (d.rank > 0) out.push(d);
      }
    }
    return out;
  });
  let preservedKeyDrift: number | undefined;
  if (preservedRows) {
    preservedKeyDrift = 0;
    for (const l of ckpt.crossAttention) {
      const name = `${l.module}.to_k.weight`;
      const out = ckpt.unet.info(name).shape[0];
      const d = await keyDrift(backend, initial.get(name)!, result.weights.get(name)!, out, preservedRows);
      preservedKeyDrift = Math.max(preservedKeyDrift, d);
    }
  }
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const report: FmnReport = {
    ...(preservedKeyDrift !== undefined ? { preservedKeyDrift } : {}),
    ...(result.anchorDrift ? { anchorDrift: result.anchorDrift } : {}),
    losses: result.losses,
    attentionMass: targets.map((t, i) => ({ concept: t.concept, before: before[i][0], after: after[i][0] })),
    massReduction: Object.fromEntries(
      targets.map((t, i) => [t.concept, 1 - sum(after[i][0]) / sum(before[i][0])]),
    ),
    markedMass: Object.fromEntries(
      targets.map((t, i) => [t.concept, {
        before: sum(before[i][1]) / before[i][1].length,
        after: sum(after[i][1]) / after[i][1].length,
      }]),
    ),
    timings: { ...timings, forward: result.seconds.forward, gradients: result.seconds.gradients },
    deltas: deltas.map((d) => ({ module: d.module, rank: d.rank, relativeError: d.relativeError })),
    settings,
  };
  return {
    edit: {
      deltas,
      provenance: {
        baseModelHash: await crossAttentionHash(ckpt),
        family: ckpt.family,
        method: "fmn",
        concepts,
        parameters: { ...settings },
        toolVersion: TOOL_VERSION,
        createdAt: new Date().toISOString(),
      },
    },
    report,
  };
}

/** Range checks with messages naming the setting. */
export function checkSettings(s: FmnSettings): void {
  if (!(s.lr > 0 && s.lr <= 1)) throw new RangeError(`learning rate must be in (0, 1], got ${s.lr}`);
  if (!(Number.isInteger(s.steps) && s.steps >= 1 && s.steps <= 10000)) {
    throw new RangeError(`steps must be an integer from 1 to 10000, got ${s.steps}`);
  }
  if (!(s.weightDecay >= 0)) throw new RangeError(`weight decay must be zero or more, got ${s.weightDecay}`);
  if (!(s.tolerance > 0 && s.tolerance < 1)) {
    throw new RangeError(`tolerance must be in (0, 1), got ${s.tolerance}`);
  }
  if (s.penalty !== "squares" && s.penalty !== "mass") {
    throw new RangeError(`penalty must be "squares" or "mass", got ${s.penalty}`);
  }
  if (s.scope !== "qk" && s.scope !== "k") throw new RangeError(`scope must be "qk" or "k", got ${s.scope}`);
  if (typeof s.preserveKeys !== "boolean") {
    throw new RangeError(`preserveKeys must be true or false, got ${s.preserveKeys}`);
  }
  if (typeof s.preserveQueries !== "boolean") {
    throw new RangeError(`preserveQueries must be true or false, got ${s.preserveQueries}`);
  }
  if (!(s.preserveAttention >= 0 && Number.isFinite(s.preserveAttention))) {
    throw new RangeError(`preserve attention weight must be zero or more, got ${s.preserveAttention}`);
  }
  if (!(s.preserveRidge > 0 && Number.isFinite(s.preserveRidge))) {
    throw new RangeError(`preserve ridge must be a positive number, got ${s.preserveRidge}`);
  }
  for (const t of s.templates ?? []) {
    if (typeof t !== "string" || !t.includes("{}")) {
      throw new RangeError(`template must contain {} (where the concept goes), got ${JSON.stringify(t)}`);
    }
  }
  for (const p of s.preserve) {
    if (typeof p !== "string" || !p.trim()) {
      throw new RangeError(`preserve: texts must be non-empty, got ${JSON.stringify(p)}`);
    }
  }
  if (!(Number.isInteger(s.imageCount) && s.imageCount >= 1)) {
    throw new RangeError(`image count must be a positive integer, got ${s.imageCount}`);
  }
}
