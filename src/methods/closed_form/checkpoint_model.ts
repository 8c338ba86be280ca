/**
 * A loaded checkpoint as the closed-form methods see it: the cross-attention to_k / to_v weights, the
 * base-model hash, and a text encoder (ONNX Runtime) whose outputs are cached per prompt.
 *
 * @module
 */
import type { Checkpoint } from "../../formats/checkpoint.ts";
import { crossAttentionHash } from "../../formats/hash.ts";
import { promptEncoderModel } from "../../models/checkpoint_encoders.ts";
import { encodePromptPrefixes, encodePrompts } from "../../models/encode_prompts.ts";
import { encoderKey } from "../../models/text_encoders.ts";
import type { ModelDiskCache } from "../../runtime/model_disk_cache.ts";
import type { BackendName } from "../../runtime/session.ts";
import { matrix64 } from "../../../kernels/matrix.ts";
import type { ClosedFormModel, EditedWeight } from "./erase.ts";
import type { EncodedRows, EncodedText } from "./rows.ts";

/** Options of {@linkcode closedFormModel}. */
export interface ClosedFormModelOptions {
  /** ONNX Runtime build for the text encoder (default `ort-web`). */
  runtime?: BackendName;
  /** Where warnings go (prompt truncation). */
  warn?: (message: string) => void;
  /** Keep the text encoder's ONNX model here between processes (default: none). */
  modelCache?: ModelDiskCache | null;
}

/**
 * Reads the cross-attention weights and prepares the text encoder of `ckpt`.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "../../formats/checkpoint.ts";
 * import { closedFormModel } from "./checkpoint_model.ts";
 * const model = await closedFormModel(await loadCheckpoint("v1-5.safetensors"), { runtime: "ort-node" });
 * ```
 */
export async function closedFormModel(
  ckpt: Checkpoint,
  options: ClosedFormModelOptions = {},
): Promise<ClosedFormModel> {
  // Start building the text encoder's session (seconds of ONNX Runtime work off the JS thread) while the
  // weights are read and hashed; "" is encoded by nearly every erasure (the usual preserve text).
  const encoder = await promptEncoderModel(ckpt);
  const early = encodePrompts(encoder, [""], {
    backend: options.runtime,
    modelCache: options.modelCache,
    warn: () => {},
  });
  early.catch(() => {}); // an error surfaces below, when the encoder is awaited
  const hash = await crossAttentionHash(ckpt);
  const weights: EditedWeight[] = [];
  for (const layer of ckpt.crossAttention) {
    for (const [name, suffix] of [[layer.toK, "to_k"], [layer.toV, "to_v"]] as const) {
      weights.push({
        module: `${layer.module}.${suffix}`,
        outDim: layer.channels,
        data: await ckpt.unet.readFloat32(name),
      });
    }
  }
  await early;
  const keyParts = encoder.configs!.map((_, i) => encoderKey(encoder, i)).join("|");
  return {
    family: ckpt.family,
    hash,
    contextDim: ckpt.config.unet.cross_attention_dim,
    weights,
    encoderKey: keyParts,
    async encode(texts: string[], rows: EncodedRows = "all"): Promise<EncodedText[]> {
      if (!texts.length) return [];
      const encodeOptions = { backend: options.runtime, modelCache: options.modelCache, warn: options.warn };
      if (rows === "through-last-token") {
        const prefixes = await encodePromptPrefixes(encoder, texts, encodeOptions);
        return texts.map((text, i) => {
          const p = prefixes.prompts[i];
          return {
            text,
            length: p.length,
            rows: matrix64(p.rows, prefixes.width, Float64Array.from(p.hiddenStates)),
          };
        });
      }
      const emb = await encodePrompts(encoder, texts, encodeOptions);
      const size = emb.sequence * emb.width;
      return texts.map((text, i) => ({
        text,
        length: encoder.tokenizers[0].encode(text).length,
        rows: matrix64(
          emb.sequence,
          emb.width,
          Float64Array.from(emb.hiddenStates.subarray(i * size, (i + 1) * size)),
        ),
      }));
    },
  };
}
