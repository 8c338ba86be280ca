/**
 * A checkpoint's UNet as a ready session: builds the graph on first use (cached per checkpoint, latent
 * size, backend and options), runs it on plain arrays, and swaps the cross-attention `to_q`/`to_k`/`to_v`
 * weights for a patch's. With `swappable` those weights are graph inputs, so base and patched models
 * share one session; otherwise each patch gets its own cached session built with its weights.
 *
 * @module
 */

import type { Checkpoint } from "../formats/checkpoint.ts";
import type { TensorMeta, TensorSource } from "../formats/tensor_source.ts";
import { serializeModel, tensorByteLength } from "../runtime/onnx_model.ts";
import {
  type BackendName,
  DEFAULT_BACKEND,
  type RuntimeSession,
  type RuntimeTensor,
  WASM_MEMORY_BUDGET_BYTES,
} from "../runtime/session.ts";
import { cachedSession, type SessionTiming } from "../runtime/session_cache.ts";
import type { WeightStorage } from "./graph_layers.ts";
import { type AttentionMapOptions, buildUNetGraph, UNET_IO } from "./unet_graph.ts";

/** Above this many weight bytes the graph's weights go to ONNX external data (protobuf caps at 2 GiB). */
const EXTERNAL_DATA_FROM_BYTES = 1.5 * 2 ** 30;

/** Replacement cross-attention weights: diffusers weight name → float32 values, and an identity. */
export interface PatchWeights {
  /** Identifies the patch (and its scale) in session caches, e.g. the patch file's path and scale. */
  key: string;
  /**
   * Edited weights. A swappable session feeds the `attn2` `to_q`/`to_k`/`to_v` among them and refuses any
   * other; a session built with the patch overlays whatever it names.
   */
  weights: Map<string, Float32Array>;
}

/** Options of {@linkcode createUNetRunner}. */
export interface UNetRunnerOptions {
  /** Latent height (image height / 8). */
  height: number;
  /** Latent width (image width / 8). */
  width: number;
  /** Backend (default ort-web). */
  backend?: BackendName;
  /**
   * `"float32"`, `"stored"` (float16 checkpoint weights stay float16), or `"auto"` (default): `"stored"`
   * where float32 weights would not fit the WASM build.
   */
  weights?: WeightStorage | "auto";
  /** Cross-attention `to_q`/`to_k`/`to_v` as graph inputs (patches swap without a new session). */
  swappable?: boolean;
  /** Return cross-attention maps (see {@linkcode AttentionMapOptions}). */
  attentionMaps?: AttentionMapOptions;
  /** Intra-op threads (native backend). */
  threads?: number;
}

/** One UNet evaluation's inputs (row-major float32). */
export interface UNetInputs {
  /** Entries in the batch. */
  batch: number;
  /** Latents `[batch, 4, h, w]`, already scaled for the model input. */
  sample: Float32Array;
  /** One timestep for all entries, or one per entry. */
  timestep: number | Float32Array;
  /** Text conditioning `[batch, 77, cross_attention_dim]`. */
  context: Float32Array;
  /** SDXL: pooled text embeddings `[batch, d]`. */
  textEmbeds?: Float32Array;
  /** SDXL: `[batch, 6]` time ids. */
  timeIds?: Float32Array;
  /** Token positions whose attention maps to return (with `attentionMaps` in `"tokens"` mode). */
  tokens?: number[];
}

/** One UNet evaluation's outputs. */
export interface UNetOutputs {
  /** The prediction `[batch, 4, h, w]`. */
  output: Float32Array;
  /** Requested attention maps by output name (`<attn2 module>.maps` or `.probs`). */
  maps: Record<string, RuntimeTensor>;
}

/** Float32 bytes of every tensor of a source. */
function float32Bytes(source: TensorSource): number {
  let n = 0;
  for (const name of source.names()) n += 4 * source.info(name).shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Bytes the UNet's weights take in a graph with this binding. */
function boundBytes(source: TensorSource, storage: WeightStorage): number {
  let n = 0;
  for (const name of source.names()) {
    const info = source.info(name);
    const count = info.shape.reduce((a, b) => a * b, 1);
    n += count * (storage === "stored" && info.dtype === "F16" ? 2 : 4);
  }
  return n;
}

/**
 * Throws a clear error when a UNet cannot run on the WASM backend (its weights plus the session's copy
 * would pass the build's 4 GiB memory), before any graph is built.
 *
 * @example
 * ```ts ignore
 * import { checkFitsBackend } from "./unet_runner.ts";
 * checkFitsBackend(ckpt, "ort-web", "stored"); // throws for SDXL: 5.1 GB of float16 weights
 * ```
 */
export function checkFitsBackend(ckpt: Checkpoint, backend: BackendName, storage: WeightStorage): void {
  if (backend !== "ort-web") return;
  const bytes = boundBytes(ckpt.unet, storage);
  if (2 * bytes > WASM_MEMORY_BUDGET_BYTES) {
    throw new Error(
      `${ckpt.path}: the ${ckpt.family} UNet's weights take ${(bytes / 2 ** 30).toFixed(2)} GiB ` +
        `(${
          storage === "stored" ? "float16 kept where stored so" : "float32"
        }), too much for the WASM backend's ` +
        "4 GiB memory; use the native backend: --backend ort-node (needs --allow-ffi)",
    );
  }
}

/** A source with some tensors replaced by float32 values. */
function overlaySource(base: TensorSource, edits: Map<string, Float32Array>): TensorSource {
  const f32 = (name: string): TensorMeta => ({ dtype: "F32", shape: base.info(name).shape });
  return {
    names: () => base.names(),
    has: (name) => base.has(name),
    info: (name) => edits.has(name) ? f32(name) : base.info(name),
    readFloat32: (name) => edits.has(name) ? Promise.resolve(edits.get(name)!) : base.readFloat32(name),
    readRaw: (name) => {
      const e = edits.get(name);
      if (!e) return base.readRaw(name);
      return Promise.resolve({ ...f32(name), bytes: new Uint8Array(e.buffer, e.byteOffset, e.byteLength) });
    },
  };
}

/**
 * The weight binding a UNet gets on a backend: float16 checkpoints stay float16 on the WASM build when
 * their float32 copy would not fit its memory.
 *
 * @example
 * ```ts ignore
 * import { unetWeightStorage } from "./unet_runner.ts";
 * unetWeightStorage(ckpt.unet, "ort-web", "auto"); // "stored" for a full-size float16 SD 1.5
 * ```
 */
export function unetWeightStorage(
  source: TensorSource,
  backend: BackendName,
  choice: WeightStorage | "auto" = "auto",
): WeightStorage {
  if (choice !== "auto") return choice;
  return backend === "ort-web" && 2 * float32Bytes(source) > WASM_MEMORY_BUDGET_BYTES ? "stored" : "float32";
}

/** A UNet session with swappable cross-attention weights. */
export class UNetRunner {
  /** The checkpoint. */
  readonly checkpoint: Checkpoint;
  /** The options it was created with. */
  readonly options: Readonly<UNetRunnerOptions>;
  /** Timings of the last session obtained (build and creation; zeros when cached). */
  timing: SessionTiming = { cached: true, buildMs: 0, createMs: 0 };
  #session: RuntimeSession | null = null;
  #patch: PatchWeights | null = null;
  #baseFeeds: Map<string, RuntimeTensor> | null = null;
  #key: string;

  /** Use {@linkcode createUNetRunner}. */
  constructor(checkpoint: Checkpoint, options: UNetRunnerOptions) {
    this.checkpoint = checkpoint;
    this.options = options;
    const storage = unetWeightStorage(checkpoint.unet, options.backend ?? DEFAULT_BACKEND, options.weights);
    this.#key = `unet|${checkpoint.path}|${options.height}x${options.width}|${storage}|` +
      `${options.swappable ? "inputs" : "initializers"}|${JSON.stringify(options.attentionMaps ?? null)}`;
  }

  /** The patch in use, or null for the base model. */
  get patch(): PatchWeights | null {
    return this.#patch;
  }

  async #obtain(): Promise<RuntimeSession> {
    if (this.#session) return this.#session;
    const ckpt = this.checkpoint;
    const o = this.options;
    const backend = o.backend ?? DEFAULT_BACKEND;
    const storage = unetWeightStorage(ckpt.unet, backend, o.weights);
    checkFitsBackend(ckpt, backend, storage);
    const baked = !o.swappable && this.#patch;
    const source = baked ? overlaySource(ckpt.unet, this.#patch!.weights) : ckpt.unet;
    const key = baked ? `${this.#key}|patch:${this.#patch!.key}` : this.#key;
    const { session, timing } = await cachedSession(key, backend, async () => {
      const graph = await buildUNetGraph(source, ckpt.config.unet, {
        height: o.height,
        width: o.width,
        weights: storage,
        crossAttentionInputs: o.swappable,
        attentionMaps: o.attentionMaps,
      });
      const bytes = graph.initializers.reduce((s, t) => s + tensorByteLength(t), 0);
      return serializeModel(
        graph,
        bytes > EXTERNAL_DATA_FROM_BYTES ? { externalDataPath: "unet.weights" } : {},
      );
    }, { threads: o.threads });
    this.timing = timing;
    this.#session = session;
    return session;
  }

  /** Builds (or fetches from the cache) the session now, e.g. to time it apart from the first run. */
  async prepare(): Promise<SessionTiming> {
    await this.#obtain();
    return this.timing;
  }

  /**
   * Uses a patch's cross-attention weights from now on (null: the base model). With `swappable` this
   * only changes the feeds; otherwise the next run uses the patch's own cached session.
   */
  setPatch(patch: PatchWeights | null): void {
    const fed = this.options.swappable
      ? new Set(this.checkpoint.crossAttention.flatMap((l) => [l.toQ, l.toK, l.toV]))
      : undefined;
    for (const name of patch?.weights.keys() ?? []) {
      if (!this.checkpoint.unet.has(name)) {
        throw new Error(`patch ${patch!.key}: the UNet has no weight "${name}"`);
      }
      // A swappable session feeds only these; silently running another patched weight as the base's would
      // misreport what the patch does.
      if (fed && !fed.has(name)) {
        throw new Error(
          `patch ${patch!.key}: "${name}" is not a cross-attention to_q/to_k/to_v weight, which is all a ` +
            "swappable session can change; use a session built with the patch (swappable: false)",
        );
      }
    }
    if (!this.options.swappable && (patch?.key ?? null) !== (this.#patch?.key ?? null)) this.#session = null;
    this.#patch = patch;
  }

  async #crossAttentionFeeds(): Promise<Record<string, RuntimeTensor>> {
    if (!this.#baseFeeds) {
      const feeds = new Map<string, RuntimeTensor>();
      for (const layer of this.checkpoint.crossAttention) {
        for (const name of [layer.toQ, layer.toK, layer.toV]) {
          const dims = this.checkpoint.unet.info(name).shape;
          feeds.set(name, { dtype: "float32", dims, data: await this.checkpoint.unet.readFloat32(name) });
        }
      }
      this.#baseFeeds = feeds;
    }
    const out: Record<string, RuntimeTensor> = {};
    for (const [name, t] of this.#baseFeeds) {
      const edited = this.#patch?.weights.get(name);
      out[name] = edited ? { ...t, data: edited } : t;
    }
    return out;
  }

  /** Runs the UNet once. */
  async run(inputs: UNetInputs): Promise<UNetOutputs> {
    const session = await this.#obtain();
    const cfg = this.checkpoint.config.unet;
    const { batch, height: h, width: w } = { batch: inputs.batch, ...this.options };
    const expect = (what: string, data: Float32Array | undefined, n: number) => {
      if (!data || data.length !== n) {
        throw new Error(
          `UNet input ${what}: expected ${n} values for batch ${batch}, got ${data?.length ?? "none"}`,
        );
      }
    };
    expect("sample", inputs.sample, batch * cfg.in_channels * h * w);
    expect("context", inputs.context, batch * 77 * cfg.cross_attention_dim);
    const timestep = typeof inputs.timestep === "number"
      ? new Float32Array(batch).fill(inputs.timestep)
      : inputs.timestep;
    expect("timestep", timestep, batch);
    const feeds: Record<string, RuntimeTensor> = {
      [UNET_IO.sample]: { dtype: "float32", dims: [batch, cfg.in_channels, h, w], data: inputs.sample },
      [UNET_IO.timestep]: { dtype: "float32", dims: [batch], data: timestep },
      [UNET_IO.encoderHiddenStates]: {
        dtype: "float32",
        dims: [batch, 77, cfg.cross_attention_dim],
        data: inputs.context,
      },
    };
    if (cfg.addition_embed_type === "text_time") {
      const textDim = cfg.projection_class_embeddings_input_dim! - 6 * cfg.addition_time_embed_dim!;
      expect("textEmbeds (SDXL pooled text)", inputs.textEmbeds, batch * textDim);
      expect("timeIds (SDXL)", inputs.timeIds, batch * 6);
      feeds[UNET_IO.textEmbeds] = { dtype: "float32", dims: [batch, textDim], data: inputs.textEmbeds! };
      feeds[UNET_IO.timeIds] = { dtype: "float32", dims: [batch, 6], data: inputs.timeIds! };
    }
    if (session.inputNames.includes(UNET_IO.attentionTokens)) {
      const tokens = inputs.tokens ?? [];
      if (!tokens.length || tokens.some((t) => !Number.isInteger(t) || t < 0 || t >= 77)) {
        throw new Error(`UNet attention maps need token positions in 0..76, got [${tokens.join(", ")}]`);
      }
      feeds[UNET_IO.attentionTokens] = {
        dtype: "int64",
        dims: [tokens.length],
        data: BigInt64Array.from(tokens.map(BigInt)),
      };
    }
    if (this.options.swappable) Object.assign(feeds, await this.#crossAttentionFeeds());
    const result = await session.run(feeds);
    const maps: Record<string, RuntimeTensor> = {};
    for (const [name, t] of Object.entries(result)) if (name !== UNET_IO.output) maps[name] = t;
    return { output: result[UNET_IO.output].data as Float32Array, maps };
  }
}

/**
 * A UNet runner for a checkpoint at a latent size (the session is built on first run).
 *
 * @example
 * ```ts ignore
 * import { createUNetRunner } from "./unet_runner.ts";
 * const unet = createUNetRunner(ckpt, { height: 64, width: 64, backend: "ort-node", swappable: true });
 * const { output } = await unet.run({ batch: 1, sample, timestep: 999, context });
 * ```
 */
export function createUNetRunner(checkpoint: Checkpoint, options: UNetRunnerOptions): UNetRunner {
  return new UNetRunner(checkpoint, options);
}
