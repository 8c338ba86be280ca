/**
 * Byte-pair encoding of one pre-tokenized word with CLIP's merge table, with a per-encoder cache of
 * the words already seen.
 *
 * @module
 */

import { wordToByteSymbols } from "./byte_level.ts";
import { type ClipVocabulary, END_OF_WORD } from "./vocabulary.ts";

/** Words kept in the cache before it is emptied (prompts repeat a small working set of words). */
const CACHE_LIMIT = 50_000;

/**
 * Encodes words into token ids: the word's UTF-8 byte symbols, `</w>` appended to the last one, then
 * the lowest-ranked adjacent pair merged everywhere, again and again, until no pair is in the table.
 *
 * @example
 * ```ts
 * import { BytePairEncoder } from "./bpe.ts";
 * import { loadBundledVocabulary } from "./bundled_vocabulary.ts";
 * const bpe = new BytePairEncoder(await loadBundledVocabulary());
 * bpe.encodeWord("hello"); // [3306]
 * ```
 */
export class BytePairEncoder {
  readonly #ids: ReadonlyMap<string, number>;
  /** Rank of the merge that makes each token id, or -1. */
  readonly #rankOfId: Int32Array;
  /** Length of the left part of each merge (tells `ab`+`c` from `a`+`bc`, both making `abc`). */
  readonly #leftLengthOfRank: Int32Array;
  readonly #unknownId: number | undefined;
  readonly #cache: Map<string, readonly number[]> = new Map();

  /**
   * @param vocabulary Tokens and merges.
   * @param unknownId Id given to a symbol missing from the vocabulary (never needed with a complete
   *   byte-level vocabulary); without it such a symbol is an error.
   */
  constructor(vocabulary: ClipVocabulary, unknownId?: number) {
    this.#ids = vocabulary.ids;
    this.#unknownId = unknownId;
    // Pairs are looked up through the token they make, reusing the vocabulary's map instead of
    // building a second 49k-entry map of pairs (which doubled the load time).
    this.#rankOfId = new Int32Array(vocabulary.tokens.length).fill(-1);
    this.#leftLengthOfRank = new Int32Array(vocabulary.merges.length);
    for (let rank = 0; rank < vocabulary.merges.length; rank++) {
      const id = vocabulary.mergeIds[rank];
      // A later merge making the same token again is ignored (none of the CLIP vocabularies has one).
      if (this.#rankOfId[id] < 0) {
        this.#rankOfId[id] = rank;
        this.#leftLengthOfRank[rank] = vocabulary.merges[rank][0].length;
      }
    }
  }

  /** Number of words currently cached. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /**
   * Token ids of one word (a piece from `splitWords`). The returned array is shared with the cache:
   * do not modify it.
   */
  encodeWord(word: string): readonly number[] {
    const hit = this.#cache.get(word);
    if (hit !== undefined) return hit;
    const ids = this.#merge(word).map((symbol) => this.#idOf(symbol, word));
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(word, ids);
    return ids;
  }

  #merge(word: string): string[] {
    let symbols = wordToByteSymbols(word);
    if (symbols.length === 0) return symbols;
    symbols[symbols.length - 1] += END_OF_WORD;
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const rank = this.#rankOf(symbols[i], symbols[i + 1]);
        if (rank >= 0 && rank < bestRank) {
          bestRank = rank;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      // Merge every occurrence of the best pair, left to right, without overlaps. (Equivalent to the
      // rank-then-position priority queue of `tokenizers`: a merge's result only takes part in merges
      // of higher rank.)
      const left = symbols[bestAt];
      const right = symbols[bestAt + 1];
      const merged: string[] = symbols.slice(0, bestAt);
      for (let i = bestAt; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === left && symbols[i + 1] === right) {
          merged.push(left + right);
          i++;
        } else {
          merged.push(symbols[i]);
        }
      }
      symbols = merged;
    }
    return symbols;
  }

  /** Rank of the merge `left right`, or -1 when there is none. */
  #rankOf(left: string, right: string): number {
    const id = this.#ids.get(left + right);
    if (id === undefined) return -1;
    const rank = this.#rankOfId[id];
    return rank >= 0 && this.#leftLengthOfRank[rank] === left.length ? rank : -1;
  }

  #idOf(symbol: string, word: string): number {
    const id = this.#ids.get(symbol) ?? this.#unknownId;
    if (id === undefined) {
      throw new Error(
        `BPE: symbol ${JSON.stringify(symbol)} of word ${JSON.stringify(word)} is not in the vocabulary`,
      );
    }
    return id;
  }
}
