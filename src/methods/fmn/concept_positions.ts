/**
 * Which of the 77 text positions Forget-Me-Not re-steers attention away from: every occurrence of the
 * concept's token ids in the prompt, plus end-of-text.
 *
 * The reference (`use_pooler: true`) marks **every** position whose id is `<|endoftext|>`. SD 1.x pads with
 * that id, so there it marks the EOS and all ~70 padding positions; SD 2.x and SDXL's second tokenizer pad
 * with `!`, so there only the one EOS. `eos: "all"` (default) reproduces that; `"first"` marks only the real
 * end-of-text; `"none"` marks only the concept's own tokens.
 *
 * `"after"` (ours) marks every position from the concept's first token to the end: the words that follow
 * it, the EOS and the padding. CLIP's text encoder is causal, so each of those rows has seen the concept
 * and can carry it into the image even when the concept's own keys get no attention ("a ring on a beach":
 * the rows of "on a beach" know about the ring). With templates that put words after the concept,
 * re-steering then also learns to ignore what those words inherited.
 *
 * @module
 */

/** How end-of-text positions join the mask. */
export type EosPolicy = "all" | "first" | "none" | "after";

/** The marked positions of one prompt. */
export interface ConceptPositions {
  /** Sorted, distinct positions in [0, 77). */
  positions: number[];
  /** Positions of the concept's own tokens (all occurrences). */
  conceptPositions: number[];
}

/**
 * Marks the concept's token positions in an encoded prompt.
 *
 * @param ids the prompt's 77 ids (BOS, tokens, EOS, padding)
 * @param length tokens before padding (BOS and EOS included)
 * @param concept the concept's ids without BOS/EOS
 * @param eosId id of `<|endoftext|>` (49407)
 * @example
 * ```ts
 * import { conceptPositions } from "./concept_positions.ts";
 * // BOS a photo of zebra EOS pad…: zebra at 4, EOS at 5
 * const ids = [49406, 320, 1125, 539, 22548, 49407, 49407, 49407];
 * conceptPositions(ids, 6, [22548], 49407, "first").positions; // [4, 5]
 * ```
 */
export function conceptPositions(
  ids: ArrayLike<number>,
  length: number,
  concept: ArrayLike<number>,
  eosId: number,
  eos: EosPolicy = "all",
): ConceptPositions {
  if (!concept.length) throw new RangeError("the concept has no tokens");
  const found: number[] = [];
  for (let i = 0; i + concept.length <= length; i++) {
    let match = true;
    for (let j = 0; j < concept.length && match; j++) match = ids[i + j] === concept[j];
    if (match) { for (let j = 0; j < concept.length; j++) found.push(i + j); }
  }
  if (!found.length) {
    throw new RangeError(`the concept's tokens [${Array.from(concept)}] do not occur in the prompt`);
  }
  const marked = new Set(found);
  if (eos === "first") marked.add(length - 1);
  else if (eos === "all") { for (let i = 0; i < ids.length; i++) if (ids[i] === eosId) marked.add(i); }
  else if (eos === "after") { for (let i = found[0]; i < ids.length; i++) marked.add(i); }
  return {
    positions: [...marked].sort((a, b) => a - b),
    conceptPositions: [...new Set(found)].sort((a, b) => a - b),
  };
}

/** Prompt templates of the reference, per kind of concept. */
export const FMN_TEMPLATES: Readonly<Record<"object" | "style", string>> = {
  object: "a photo of {}",
  style: "a photo in the style of {}",
};
