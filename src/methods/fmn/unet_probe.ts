/**
 * The UNet as Forget-Me-Not's attention probe: one ONNX Runtime session whose cross-attention `to_q` and
 * `to_k` weights are graph inputs (so every training step runs the current weights without a new
 * session) and which returns, for every attn2 layer, the hidden states entering it (`…transformer_blocks.K.norm2`).
 *
 * @module
 */
import type { Checkpoint } from "../../formats/checkpoint.ts";
import { buildUNetGraph, UNET_IO } from "../../models/unet_graph.ts";
import { unetWeightStorage } from "../../models/unet_runner.ts";
import { serializeModel } from "../../runtime/onnx_model.ts";
import { cachedSession } from "../../runtime/session_cache.ts";
import type { BackendName, RuntimeTensor } from "../../runtime/session.ts";
import type { AttentionProbe } from "./resteer.ts";

/** SDXL's added conditioning for the probe (batch 1). */
export interface AddedConditioning {
  /** Pooled text embedding of the second encoder. */
  textEmbeds: Float32Array;
  /** Six time ids. */
  timeIds: Float32Array;
}

/** Options of {@linkcode unetProbe}. */
export interface UNetProbeOptions {
  /** Latent height and width (image size / 8). */
  height: number;
  /** Latent width. */
  width: number;
  /** ONNX Runtime build. */
  backend?: BackendName;
  /** SDXL only: pooled text and time ids used for every run. */
  added?: AddedConditioning;
}

/**
 * An attention probe on `ckpt`'s UNet (every cross-attention layer, diffusers order).
 *
 * @example
 * ```ts ignore
 * import { unetProbe } from "./unet_probe.ts";
 * const probe = unetProbe(ckpt, { height: 64, width: 64, backend: "ort-node" });
 * ```
 */
export function unetProbe(ckpt: Checkpoint, options: UNetProbeOptions): AttentionProbe {
  const cfg = ckpt.config.unet;
  const layers = ckpt.crossAttention.map((l) => ({
    module: l.module,
    heads: l.heads,
    channels: l.channels,
    contextDim: l.contextDim,
  }));
  const weightInputs = layers.flatMap((l) => [`${l.module}.to_q.weight`, `${l.module}.to_k.weight`]);
  const exposed = layers.map((l) => `${l.module.slice(0, -".attn2".length)}.norm2`);
  const backend = options.backend ?? "ort-web";
  const storage = unetWeightStorage(ckpt.unet, backend, "auto");
  const { height, width } = options;
  const key = `fmn-probe|${ckpt.path}|${height}x${width}|${storage}`;
  if (cfg.addition_embed_type === "text_time" && !options.added) {
    throw new Error("the SDXL attention probe needs the pooled text embedding and time ids (options.added)");
  }
  return {
    layers,
    latentShape: [cfg.in_channels, height, width],
    async queryInputs(latents, timestep, context, weights) {
      const { session } = await cachedSession(key, backend, async () =>
        serializeModel(
          await buildUNetGraph(ckpt.unet, cfg, {
            height,
            width,
            weights: storage,
            weightInputs,
            expose: exposed,
          }),
          // Large models go to external data (protobuf caps a message at 2 GiB).
          storage === "float32" && ckptBytes(ckpt) > 1.5 * 2 ** 30
            ? { externalDataPath: "unet.weights" }
            : {},
        ));
      const feeds: Record<string, RuntimeTensor> = {
        [UNET_IO.sample]: { dtype: "float32", dims: [1, cfg.in_channels, height, width], data: latents },
        [UNET_IO.timestep]: { dtype: "float32", dims: [1], data: new Float32Array([timestep]) },
        [UNET_IO.encoderHiddenStates]: {
          dtype: "float32",
          dims: [1, context.length / cfg.cross_attention_dim, cfg.cross_attention_dim],
          data: context,
        },
      };
      if (options.added) {
        feeds[UNET_IO.textEmbeds] = {
          dtype: "float32",
          dims: [1, options.added.textEmbeds.length],
          data: options.added.textEmbeds,
        };
        feeds[UNET_IO.timeIds] = { dtype: "float32", dims: [1, 6], data: options.added.timeIds };
      }
      for (const name of weightInputs) {
        const w = weights.get(name);
        if (!w) throw new Error(`attention probe: no weight given for ${name}`);
        feeds[name] = { dtype: "float32", dims: ckpt.unet.info(name).shape, data: w };
      }
      const out = await session.run(feeds, exposed);
      return exposed.map((n) => out[n].data as Float32Array);
    },
  };
}

function ckptBytes(ckpt: Checkpoint): number {
  let n = 0;
  for (const name of ckpt.unet.names()) n += 4 * ckpt.unet.info(name).shape.reduce((a, b) => a * b, 1);
  return n;
}
