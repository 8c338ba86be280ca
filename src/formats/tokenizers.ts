/**
 * The tokenizers of a loaded checkpoint: a diffusers folder's own `tokenizer/` and `tokenizer_2/`, or,
 * for single files (which hold none), the bundled CLIP vocabulary configured as each family's tokenizer.
 *
 * @module
 */
import type { Checkpoint } from "./checkpoint.ts";
import { ClipTokenizer } from "../tokenizer/clip_tokenizer.ts";
import { tokenizerForFamily } from "../tokenizer/family.ts";

/**
 * One tokenizer per text encoder of `ckpt`, in diffusers order.
 *
 * @example
 * ```ts ignore
 * import { loadCheckpoint } from "./checkpoint.ts";
 * import { checkpointTokenizers } from "./tokenizers.ts";
 * const [tok] = await checkpointTokenizers(await loadCheckpoint("v1-5.safetensors"));
 * tok.encode("a photo of a zebra").ids; // Int32Array(77)
 * ```
 */
export async function checkpointTokenizers(ckpt: Checkpoint): Promise<ClipTokenizer[]> {
  const out: ClipTokenizer[] = [];
  for (let i = 0; i < ckpt.config.textEncoders.length; i++) {
    const dir = ckpt.tokenizerDirs[i];
    out.push(
      dir ? await ClipTokenizer.fromFolder(dir) : await tokenizerForFamily(ckpt.family, i === 0 ? 1 : 2),
    );
  }
  return out;
}
