/**
 * Forget-Me-Not attention re-steering, local form: every step, the UNet runs forward (ONNX Runtime) on a
 * noised reference latent with the concept's prompt; each cross-attention layer's own probabilities
 * P = softmax(Q·Kᵀ/√d) at the concept's token positions give the loss, and its exact gradient with respect
 * to that layer's `to_q` and `to_k` (kernels: `attentionGradient`) drives AdamW. The forward pass is re-run
 * every step, so later layers see the updated earlier ones.
 *
 * How this differs from the reference (which back-propagates through the whole UNet): there, a layer's
 * loss also moves every weight upstream of its queries (resnets, self-attention, earlier layers' to_v and
 * to_out); here each layer's to_q/to_k answer only for that layer's own attention. The loss and its
 * gradients with respect to to_q/to_k are the same for a given forward pass; the other parameters stay
 * fixed, so the patch touches only to_q/to_k of the cross-attention layers.
 *
 * Loss: the reference's one global L2 norm over all selected probabilities of all layers,
 * L = √(Σ_l S_l) with S_l = Σ P_l[h, q, k∈𝒦]², or (option) the per-layer sum Σ_l √S_l.
 *
 * Attention anchors (option, ours): each step also runs one anchor prompt on a noised image of it and adds
 * w·√(Σ_l D_l), D_l = Σ (P_l − P⁰_l)² over all heads, queries and keys, P⁰ being the initial weights'
 * probabilities for the same layer input (kernels: `drift` rows), so the anchors' own attention stays put.
 *
 * @module
 */
import type { Backend, RowPenalty } from "../../../kernels/backend.ts";
import { type Matrix, matrix } from "../../../kernels/matrix.ts";
import type { AdamWOptimizer } from "../../../kernels/cpu/adamw.ts";
import { Random } from "../../sample/random.ts";

/** One cross-attention layer as the method sees it. */
export interface ProbeLayer {
  /** diffusers module path of the attn2 module. */
  module: string;
  /** Heads. */
  heads: number;
  /** Query width C (= inner width). */
  channels: number;
  /** Width of the text context. */
  contextDim: number;
}

/** Runs the UNet forward and returns what enters each cross-attention layer. */
export interface AttentionProbe {
  /** The layers, in the order `queryInputs` returns them. */
  layers: ProbeLayer[];
  /** Latent shape [4, h, w] the probe was built for. */
  latentShape: [number, number, number];
  /**
   * One UNet evaluation (batch 1) with the given to_q / to_k weights (diffusers weight names) in place of the
   * checkpoint's; returns, per layer, the hidden states entering attn2 as [queries, C].
   */
  queryInputs(
    latents: Float32Array,
    timestep: number,
    context: Float32Array,
    weights: ReadonlyMap<string, Float32Array>,
  ): Promise<Float32Array[]>;
}

/** One concept to re-steer: its prompt's context rows and the key positions to steer away from. */
export interface ResteerTarget {
  /** The concept. */
  concept: string;
  /** Text embeddings of its prompt, 77 × d. */
  context: Float32Array;
  /** Marked key positions (concept tokens + end-of-text per policy). */
  positions: number[];
  /** The concept's own token positions (for the attention-mass report). */
  conceptPositions: number[];
  /** Clean reference latents z₀ ([4, h, w] each, already times the VAE scaling factor). */
  latents: Float32Array[];
}

/** Settings of {@linkcode resteer}. */
export interface ResteerOptions {
  /** Compute backend. */
  backend: Backend;
  /** Steps (default 35 per concept). */
  steps: number;
  /** AdamW learning rate. */
  lr: number;
  /** AdamW decoupled weight decay (default 0.01). */
  weightDecay?: number;
  /** `global` (reference: √Σ_l S_l) or `per-layer` (Σ_l √S_l). */
  loss?: "global" | "per-layer";
  /** What each (head, query) row adds to S_l: `squares` (reference, Σ P²) or `mass` ((Σ P)²). */
  penalty?: RowPenalty;
  /** ᾱ_t of the training schedule (1000 values). */
  alphasCumprod: Float32Array;
  /** Seed of timesteps, noise and image choice. */
  seed: number;
  /** Initial to_q / to_k weights by diffusers weight name. */
  weights: Map<string, Float32Array>;
  /** Which projections train: `qk` (to_q and to_k, as the gradient reaches both; default) or `k`. */
  scope?: "qk" | "k";
  /**
   * Key preservation: a symmetric `contextDim × contextDim` matrix M (see `keyProjector`); every to_k then
   * changes as W⁰ + A·M with A trained, keeping the preserved prompts' keys in place.
   */
  keyProjector?: Float32Array;
  /**
   * Query preservation: per `to_q` weight name, a symmetric `channels × channels` matrix M (see
   * `queryProjector`); that to_q then changes as W⁰ + M·A with A trained, so queries move only in directions
   * the preserved prompts' keys hardly meet.
   */
  queryProjectors?: ReadonlyMap<string, Float32Array>;
  /**
   * Attention anchors (not in the reference recipe): prompts with images whose cross-attention must stay as
   * the initial weights give it. Each step also runs one anchor (in turn) and adds `weight`·‖P − P⁰‖ over its
   * layers, heads, queries and all 77 keys to the loss, so re-steering may change attention only where the
   * anchors' own images and prompts do not notice.
   */
  anchors?: { targets: AnchorTarget[]; weight: number };
  /** Called after each step. */
  onStep?: (step: number, loss: number) => void;
}

/** One attention anchor: a prompt's context rows and images whose attention should not move. */
export interface AnchorTarget {
  /** The prompt. */
  prompt: string;
  /** Text embeddings of the prompt, 77 × d. */
  context: Float32Array;
  /** Clean latents z₀ of images of the prompt. */
  latents: Float32Array[];
}

/** What re-steering did. */
export interface ResteerResult {
  /** Final to_q / to_k weights. */
  weights: Map<string, Float32Array>;
  /** Loss per step (re-steering's own term, without the anchors'). */
  losses: number[];
  /** With anchors: ‖P − P⁰‖ of each step's anchor, over its layers (before the step's update). */
  anchorDrift?: number[];
  /** Seconds in UNet forward passes and in gradient work. */
  seconds: { forward: number; gradients: number; total: number };
}

/** z_t = √ᾱ_t·z₀ + √(1 − ᾱ_t)·ε. */
export function addNoise(z0: Float32Array, noise: Float32Array, alphaBar: number): Float32Array {
  const a = Math.sqrt(alphaBar), b = Math.sqrt(1 - alphaBar);
  return z0.map((v, i) => a * v + b * noise[i]);
}

/**
 * Runs local attention re-steering for the targets (round robin over concepts).
 *
 * @example
 * ```ts ignore
 * import { resteer } from "./resteer.ts";
 * const r = await resteer(probe, [target], { backend, steps: 35, lr: 2e-6, alphasCumprod, seed: 0, weights });
 * ```
 */
export async function resteer(
  probe: AttentionProbe,
  targets: ResteerTarget[],
  options: ResteerOptions,
): Promise<ResteerResult> {
  const { backend } = options;
  const rng = new Random(options.seed, "fmn");
  const names = probe.layers.flatMap((l) => [`${l.module}.to_q.weight`, `${l.module}.to_k.weight`]);
  const current = new Map<string, Float32Array>(names.map((n) => {
    const w = options.weights.get(n);
    if (!w) throw new Error(`re-steering needs the initial weight ${n}`);
    return [n, w.slice()] as [string, Float32Array];
  }));
  const projector = options.keyProjector;
  const width = probe.layers[0]?.contextDim ?? 0;
  if (projector && projector.length !== width * width) {
    throw new RangeError(`key projector has ${projector.length} values, expected ${width}×${width}`);
  }
  const queryProjectors = options.queryProjectors ?? new Map<string, Float32Array>();
  for (const l of probe.layers) {
    const m = queryProjectors.get(`${l.module}.to_q.weight`);
    if (m && m.length !== l.channels * l.channels) {
      throw new RangeError(`query projector of ${l.module} has ${m.length} values, expected ${l.channels}²`);
    }
  }
  // A to_k under key preservation, or a to_q under query preservation, trains its raw delta A (from zero);
  // everything else trains W itself.
  const reparametrized = (n: string) =>
    (projector !== undefined && n.endsWith(".to_k.weight")) || queryProjectors.has(n);
  const trained = (n: string) => options.scope !== "k" || n.endsWith(".to_k.weight");
  const adamW = { lr: options.lr, weightDecay: options.weightDecay ?? 0.01 };
  const optimizers = new Map<string, AdamWOptimizer>(
    names.filter(trained).map((n) => [
      n,
      backend.createAdamW(
        reparametrized(n) ? new Float32Array(current.get(n)!.length) : current.get(n)!,
        adamW,
      ),
    ]),
  );
  const losses: number[] = [];
  const seconds = { forward: 0, gradients: 0, total: 0 };
  const t0 = performance.now();
  const size = probe.latentShape.reduce((a, b) => a * b, 1);
  const anchors = options.anchors;
  if (anchors && !(anchors.weight >= 0 && anchors.targets.length)) {
    throw new RangeError(
      `anchors need at least one target and a weight of zero or more, got ${anchors.weight}`,
    );
  }
  const anchorDrift: number[] = [];
  const allKeys = (context: Float32Array) => Array.from({ length: context.length / width }, (_, i) => i);
  // One noised latent per forward: an image of the target, a uniform timestep, fresh noise.
  const noisy = (latents: Float32Array[]) => {
    const z0 = latents[Math.floor(rng.uniform() * latents.length)];
    const t = Math.floor(rng.uniform() * options.alphasCumprod.length);
    const noise = new Float32Array(size);
    for (let i = 0; i < size; i++) noise[i] = rng.normal();
    return { zt: addNoise(z0, noise, options.alphasCumprod[t]), t };
  };
  // A layer's to_q / to_k from a weight map, as matrices.
  const projections = (weights: ReadonlyMap<string, Float32Array>, layer: ProbeLayer) => ({
    wq: matrix(layer.channels, layer.channels, weights.get(`${layer.module}.to_q.weight`)!),
    wk: matrix(layer.channels, layer.contextDim, weights.get(`${layer.module}.to_k.weight`)!),
  });
  const layerInput = (l: number, x: Float32Array, context: Float32Array) => {
    const layer = probe.layers[l];
    return {
      x: matrix(x.length / layer.channels, layer.channels, x),
      context: matrix(context.length / layer.contextDim, layer.contextDim, context),
      ...projections(current, layer),
      heads: layer.heads,
    };
  };
  for (let step = 0; step < options.steps; step++) {
    const target = targets[step % targets.length];
    const { zt, t } = noisy(target.latents);
    let tf = performance.now();
    const xs = await probe.queryInputs(zt, t, target.context, current);
    seconds.forward += (performance.now() - tf) / 1000;
    tf = performance.now();
    const grads = [];
    let total = 0;
    for (let l = 0; l < probe.layers.length; l++) {
      const g = await backend.attentionGradient({
        ...layerInput(l, xs[l], target.context),
        keys: target.positions,
        rows: options.penalty ?? "squares",
      }, "sumOfSquares");
      grads.push(g);
      total += g.sumOfSquares;
    }
    seconds.gradients += (performance.now() - tf) / 1000;
    // The step's anchor: ∂(weight·√D)/∂W with D = Σ_l ‖P_l − P⁰_l‖², added to the layers' gradients below.
    const anchorGrads: { gradWq: Matrix; gradWk: Matrix }[] = [];
    let anchorScale = 0;
    if (anchors && anchors.weight > 0) {
      const anchor = anchors.targets[step % anchors.targets.length];
      const a = noisy(anchor.latents);
      tf = performance.now();
      const ax = await probe.queryInputs(a.zt, a.t, anchor.context, current);
      seconds.forward += (performance.now() - tf) / 1000;
      tf = performance.now();
      let drift = 0;
      for (let l = 0; l < probe.layers.length; l++) {
        const g = await backend.attentionGradient({
          ...layerInput(l, ax[l], anchor.context),
          keys: allKeys(anchor.context),
          rows: "drift",
          reference: projections(options.weights, probe.layers[l]),
        }, "sumOfSquares");
        anchorGrads.push(g);
        drift += g.sumOfSquares;
      }
      seconds.gradients += (performance.now() - tf) / 1000;
      anchorDrift.push(Math.sqrt(drift));
      anchorScale = drift > 0 ? anchors.weight / (2 * Math.sqrt(drift)) : 0;
    }
    tf = performance.now();
    const global = Math.sqrt(total);
    const loss = options.loss === "per-layer"
      ? grads.reduce((s, g) => s + Math.sqrt(g.sumOfSquares), 0)
      : global;
    losses.push(loss);
    for (let l = 0; l < probe.layers.length; l++) {
      const g = grads[l];
      // d√S/dθ = (dS/dθ)/(2√S): the global norm shares one factor, the per-layer sum has one per layer.
      const s = options.loss === "per-layer" ? g.sumOfSquares : total;
      const scale = s > 0 ? 1 / (2 * Math.sqrt(s)) : 0;
      for (
        const [name, grad] of [[`${probe.layers[l].module}.to_q.weight`, g.gradWq], [
          `${probe.layers[l].module}.to_k.weight`,
          g.gradWk,
        ]] as const
      ) {
        const opt = optimizers.get(name);
        if (!opt) continue;
        const anchor = anchorGrads[l]?.[name.endsWith(".to_q.weight") ? "gradWq" : "gradWk"].data;
        const scaled = grad.data.map((v, i) => v * scale + (anchor ? anchor[i] * anchorScale : 0));
        if (!reparametrized(name)) {
          await opt.update(scaled);
          current.set(name, await opt.read());
          continue;
        }
        const w0 = options.weights.get(name)!;
        const qm = queryProjectors.get(name);
        let delta;
        if (qm) {
          // W = W⁰ + M·A: ∂L/∂A = M·∂L/∂W (M symmetric).
          const c = probe.layers[l].channels;
          const m = matrix(c, c, qm);
          await opt.update((await backend.matmul(m, matrix(c, c, scaled))).data);
          delta = await backend.matmul(m, matrix(c, c, await opt.read()));
        } else {
          // W = W⁰ + A·M: ∂L/∂A = ∂L/∂W·M (M symmetric).
          const rows = scaled.length / width;
          const m = matrix(width, width, projector!);
          await opt.update((await backend.matmul(matrix(rows, width, scaled), m)).data);
          delta = await backend.matmul(matrix(rows, width, await opt.read()), m);
        }
        current.set(name, delta.data.map((v, i) => w0[i] + v));
      }
    }
    seconds.gradients += (performance.now() - tf) / 1000;
    options.onStep?.(step, loss);
  }
  for (const o of optimizers.values()) o.dispose();
  seconds.total = (performance.now() - t0) / 1000;
  return { weights: current, losses, seconds, ...(anchors ? { anchorDrift } : {}) };
}

/**
 * The mean (over heads and queries) of the attention probability on each set of positions, per layer: how
 * much of each layer's cross-attention goes to the concept. One UNet forward serves every set; the result
 * is `[set][layer]`.
 *
 * @example
 * ```ts ignore
 * import { attentionMass } from "./resteer.ts";
 * const [own, marked] = await attentionMass(backend, probe, latents, 500, context, [conceptPositions, positions], weights);
 * ```
 */
export async function attentionMass(
  backend: Backend,
  probe: AttentionProbe,
  latents: Float32Array,
  timestep: number,
  context: Float32Array,
  positionSets: number[][],
  weights: ReadonlyMap<string, Float32Array>,
): Promise<number[][]> {
  const xs = await probe.queryInputs(latents, timestep, context, weights);
  const out: number[][] = positionSets.map(() => []);
  for (let l = 0; l < probe.layers.length; l++) {
    const layer = probe.layers[l];
    for (const [k, positions] of positionSets.entries()) {
      const p = await backend.attentionProbabilities({
        x: matrix(xs[l].length / layer.channels, layer.channels, xs[l]),
        context: matrix(context.length / layer.contextDim, layer.contextDim, context),
        wq: matrix(layer.channels, layer.channels, weights.get(`${layer.module}.to_q.weight`)!),
        wk: matrix(layer.channels, layer.contextDim, weights.get(`${layer.module}.to_k.weight`)!),
        heads: layer.heads,
        keys: positions,
      });
      let sum = 0;
      for (const v of p.data) sum += v;
      out[k].push(sum / (p.heads * p.queries));
    }
  }
  return out;
}
