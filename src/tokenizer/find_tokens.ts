/**
 * Finds a concept's token ids inside encoded prompts, for methods that act on the concept's positions
 * (Forget-Me-Not re-steers the attention paid to them).
 *
 * @module
 */

/**
 * Start positions of every occurrence of `needle` in `ids[0 .. limit)`, left to right, overlapping
 * occurrences included. Pass the prompt's `length` as `limit` so padding is never matched (a `!` pad
 * has the same id as a `!` in the concept).
 *
 * @param ids Encoded prompt (e.g. `TokenizedPrompt.ids`).
 * @param needle The concept's ids, from `ClipTokenizer.tokenize` (no BOS/EOS).
 * @param limit Search only the first `limit` ids; default all.
 * @example
 * ```ts
 * import { findTokenSequence } from "./find_tokens.ts";
 * findTokenSequence([49406, 2451, 19697, 267, 2451, 19697, 49407], [2451, 19697]); // [1, 4]
 * ```
 */
export function findTokenSequence(
  ids: ArrayLike<number>,
  needle: ArrayLike<number>,
  limit: number = ids.length,
): number[] {
  if (needle.length === 0) throw new RangeError("findTokenSequence: the token sequence to find is empty");
  const end = Math.min(limit, ids.length) - needle.length;
  const starts: number[] = [];
  for (let start = 0; start <= end; start++) {
    let matches = true;
    for (let j = 0; j < needle.length; j++) {
      if (ids[start + j] !== needle[j]) {
        matches = false;
        break;
      }
    }
    if (matches) starts.push(start);
  }
  return starts;
}

/**
 * Every position covered by some occurrence of `needle` in `ids[0 .. limit)`, ascending and without
 * repeats: the token positions of a concept in a prompt.
 *
 * @example
 * ```ts
 * import { tokenPositions } from "./find_tokens.ts";
 * tokenPositions([49406, 2451, 19697, 267, 2451, 19697, 49407], [2451, 19697]); // [1, 2, 4, 5]
 * ```
 */
export function tokenPositions(ids: ArrayLike<number>, needle: ArrayLike<number>, limit?: number): number[] {
  const covered = new Set<number>();
  for (const start of findTokenSequence(ids, needle, limit)) {
    for (let j = 0; j < needle.length; j++) covered.add(start + j);
  }
  return [...covered].sort((a, b) => a - b);
}
