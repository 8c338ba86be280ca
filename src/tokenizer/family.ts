/**
 * The right bundled tokenizer for each Stable Diffusion family and text encoder.
 *
 * @module
 */

import { ClipTokenizer } from "./clip_tokenizer.ts";

/** Stable Diffusion families: 1.x, 2.x, XL. */
export type TokenizerFamily = "sd15" | "sd21" | "sdxl";

/**
 * The bundled CLIP tokenizer configured as the family's diffusers tokenizer folder is: SD 1.x and
 * SDXL's first encoder pad with `<|endoftext|>` (49407); SD 2.x and SDXL's second encoder pad with `!`
 * (id 0, a special token, as in Hugging Face — see `ClipTokenizer`).
 *
 * @param family Model family.
 * @param which Text encoder: 1, or 2 for SDXL's second (`tokenizer_2`).
 * @example
 * ```ts
 * import { tokenizerForFamily } from "./family.ts";
 * const second = await tokenizerForFamily("sdxl", 2);
 * second.padId; // 0
 * ```
 */
export function tokenizerForFamily(family: TokenizerFamily, which: 1 | 2 = 1): Promise<ClipTokenizer> {
  if (family !== "sd15" && family !== "sd21" && family !== "sdxl") {
    throw new RangeError(`tokenizerForFamily: unknown family ${JSON.stringify(family)} (sd15, sd21, sdxl)`);
  }
  if (which !== 1 && which !== 2) {
    throw new RangeError(`tokenizerForFamily: which must be 1 or 2, got ${which}`);
  }
  if (which === 2 && family !== "sdxl") {
    throw new RangeError(`tokenizerForFamily: ${family} has one text encoder; only sdxl has a second`);
  }
  const padsWithBang = family === "sd21" || which === 2;
  return ClipTokenizer.bundled({ padId: padsWithBang ? 0 : undefined });
}
