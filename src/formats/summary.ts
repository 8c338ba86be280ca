/**
 * A plain summary of a loaded checkpoint, for `forget inspect` and for reports.
 *
 * @module
 */
import type { Checkpoint } from "./checkpoint.ts";
import { FAMILY_NAMES } from "../models/config.ts";

/** What `forget inspect` prints (as JSON with `--json`). */
export interface CheckpointSummary {
  /** Path given. */
  path: string;
  /** `single` or `diffusers`. */
  layout: string;
  /** `sd15`, `sd21` or `sdxl`. */
  family: string;
  /** Human-readable family name. */
  familyName: string;
  /** Storage dtype of the cross-attention weights. */
  dtype: string;
  /** Width of the text conditioning. */
  contextDim: number;
  /** Number of cross-attention layers. */
  crossAttentionLayers: number;
  /** Each cross-attention layer: diffusers module path, to_k / to_v shape, heads. */
  layers: { module: string; toK: number[]; toV: number[]; heads: number }[];
  /** Text encoders: hidden width, layers, activation, whether a projection is present. */
  textEncoders: { hidden: number; layers: number; act: string; projection: number | null }[];
  /** Whether a VAE is present. */
  hasVae: boolean;
  /** Whether EMA copies were found (single files). */
  hasEma: boolean;
  /** Tensor counts per component. */
  tensors: { unet: number; vae: number; textEncoders: number[] };
  /** Warnings. */
  warnings: string[];
}

/**
 * Summarises a checkpoint (reads no tensor data).
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * import { summarize } from "./summary.ts";
 * console.log(summarize(await loadCheckpoint("model.safetensors")).crossAttentionLayers);
 * ```
 */
export function summarize(ckpt: Checkpoint): CheckpointSummary {
  return {
    path: ckpt.path,
    layout: ckpt.layout,
    family: ckpt.family,
    familyName: FAMILY_NAMES[ckpt.family],
    dtype: ckpt.dtype,
    contextDim: ckpt.config.unet.cross_attention_dim,
    crossAttentionLayers: ckpt.crossAttention.length,
    layers: ckpt.crossAttention.map((l) => ({
      module: l.module,
      toK: ckpt.unet.info(l.toK).shape,
      toV: ckpt.unet.info(l.toV).shape,
      heads: l.heads,
    })),
    textEncoders: ckpt.textEncoders.map((_, i) => {
      const c = ckpt.config.textEncoders[i];
      return {
        hidden: c.hidden_size,
        layers: c.num_hidden_layers,
        act: c.hidden_act,
        projection: c.projection_dim ?? null,
      };
    }),
    hasVae: ckpt.vae !== null,
    hasEma: ckpt.hasEma,
    tensors: {
      unet: ckpt.unet.names().length,
      vae: ckpt.vae?.names().length ?? 0,
      textEncoders: ckpt.textEncoders.map((t) => t.names().length),
    },
    warnings: ckpt.warnings,
  };
}

/**
 * The summary as human-readable text.
 *
 * @example
 * ```ts ignore
 * import { formatSummary, summarize } from "./summary.ts";
 * console.log(formatSummary(summarize(ckpt)));
 * ```
 */
export function formatSummary(s: CheckpointSummary): string {
  const widths = new Map<string, number>();
  for (const l of s.layers) {
    const key = `${l.toK[0]}×${l.toK[1]}`;
    widths.set(key, (widths.get(key) ?? 0) + 1);
  }
  const lines = [
    `${s.path}`,
    `  family        ${s.familyName} (${s.family})`,
    `  layout        ${s.layout === "single" ? "single file (LDM/SGM key names)" : "diffusers folder"}`,
    `  dtype         ${s.dtype}`,
    `  cross-attn    ${s.crossAttentionLayers} layers, context ${s.contextDim}; to_k/to_v shapes: ${
      [...widths].map(([k, n]) => `${n} × [${k}]`).join(", ")
    }`,
    ...s.textEncoders.map((t, i) =>
      `  text enc. ${i + 1}   width ${t.hidden}, ${t.layers} layers, ${t.act}${
        t.projection ? `, projection ${t.projection}` : ""
      }`
    ),
    `  vae           ${s.hasVae ? "present" : "absent"}`,
    `  tensors       UNet ${s.tensors.unet}, VAE ${s.tensors.vae}, text ${
      s.tensors.textEncoders.join(" + ") || 0
    }`,
    ...s.warnings.map((w) => `  warning       ${w}`),
  ];
  return lines.join("\n");
}
