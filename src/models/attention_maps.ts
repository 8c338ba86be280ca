/**
 * Cross-attention maps as evidence: which prompt tokens a layer's pixels attend to. The UNet graph
 * returns, per chosen `attn2` layer, the probabilities averaged over heads for chosen token positions
 * (`<module>.maps`, `[batch, tokens, h·w]` at that layer's resolution); here they are located in the
 * prompt (token positions of a word), brought to one resolution and averaged over layers (and, by the
 * caller, over steps).
 *
 * @module
 */

import type { RuntimeTensor } from "../runtime/session.ts";
import { resizeBilinear } from "../image/heatmap.ts";
import type { PromptTokenizer } from "./encode_prompts.ts";

/**
 * Positions (0..76) of the tokens of `word` in the tokenized `prompt`, at its first occurrence; throws
 * when the prompt does not contain it.
 *
 * @example
 * ```ts ignore
 * import { tokenPositions } from "./attention_maps.ts";
 * tokenPositions(tokenizer, "a painting of a cat", "cat"); // [5]
 * ```
 */
export function tokenPositions(tokenizer: PromptTokenizer, prompt: string, word: string): number[] {
  const ids = tokenizer.encode(prompt);
  const wordIds = tokenizer.encode(word);
  // Content tokens of the word: between its start-of-text and end-of-text tokens.
  const target = Array.from(wordIds.ids.subarray(1, wordIds.length - 1));
  if (!target.length) throw new Error(`attention maps: "${word}" has no tokens`);
  const seq = Array.from(ids.ids.subarray(0, ids.length));
  for (let i = 1; i + target.length <= seq.length; i++) {
    if (target.every((t, k) => seq[i + k] === t)) return target.map((_, k) => i + k);
  }
  throw new Error(`attention maps: the prompt ${JSON.stringify(prompt)} does not contain "${word}"`);
}

/**
 * Sums one batch entry's token maps of every layer into `into` (`[tokens, height·width]`), each layer's
 * map resized bilinearly to `height`×`width` (the latent size); returns the number of layers added.
 * Layer sizes are found from the map lengths (levels halve the latent size, rounding up).
 *
 * @example
 * ```ts ignore
 * import { accumulateTokenMaps } from "./attention_maps.ts";
 * const sum = new Float32Array(tokens * 64 * 64);
 * const layers = accumulateTokenMaps(outputs.maps, 1, 64, 64, sum);
 * ```
 */
export function accumulateTokenMaps(
  maps: Record<string, RuntimeTensor>,
  batchIndex: number,
  height: number,
  width: number,
  into: Float32Array,
): number {
  let layers = 0;
  for (const [name, t] of Object.entries(maps)) {
    if (!name.endsWith(".maps")) continue;
    const [, tokens, n] = t.dims;
    let h = height, w = width;
    while (h * w > n && h > 1) {
      h = Math.ceil(h / 2);
      w = Math.ceil(w / 2);
    }
    if (h * w !== n) {
      throw new Error(`attention maps: ${name} has ${n} positions, no level of ${height}×${width}`);
    }
    if (into.length !== tokens * height * width) {
      throw new Error(
        `attention maps: ${tokens} tokens at ${height}×${width} need ${tokens * height * width} values`,
      );
    }
    const data = t.data as Float32Array;
    for (let k = 0; k < tokens; k++) {
      const start = (batchIndex * tokens + k) * n;
      const map = resizeBilinear(
        { values: data.subarray(start, start + n), height: h, width: w },
        height,
        width,
      );
      const off = k * height * width;
      for (let i = 0; i < height * width; i++) into[off + i] += map.values[i];
    }
    layers++;
  }
  return layers;
}
