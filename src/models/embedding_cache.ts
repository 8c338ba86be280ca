/**
 * A memory-bounded cache of prompt embeddings keyed by (model hash, encoder convention, prompt), so
 * that repeated prompts — preserve sets of thousands of names, the same concept across methods —
 * are encoded once per model.
 *
 * @module
 */

/** One prompt's cached encoder output. */
export interface CachedEmbedding {
  /**
   * `[77, width]` hidden states; `[rows, width]` for a prefix encoding, which `encodePromptPrefixes` keeps
   * under its own encoder key so that it never answers a request for all 77 rows.
   */
  hiddenStates: Float32Array;
  /** Pooled output (SDXL). */
  pooled?: Float32Array;
}

/**
 * Least-recently-used cache of embeddings with a byte budget.
 *
 * @example
 * ```ts
 * import { EmbeddingCache } from "./embedding_cache.ts";
 * const cache = new EmbeddingCache(1 << 20);
 * cache.set("model-hash", "sd15", "a cat", { hiddenStates: new Float32Array(77 * 768) });
 * cache.get("model-hash", "sd15", "a cat")?.hiddenStates.length; // 59136
 * ```
 */
export class EmbeddingCache {
  /** Byte budget; the least recently used entries are evicted beyond it. */
  readonly maxBytes: number;
  #entries = new Map<string, CachedEmbedding>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  /** Creates a cache holding at most `maxBytes` of embeddings (default 1 GiB). */
  constructor(maxBytes: number = 2 ** 30) {
    this.maxBytes = maxBytes;
  }

  static #key(modelHash: string, encoder: string, prompt: string): string {
    return `${modelHash}\u0000${encoder}\u0000${prompt}`;
  }

  static #size(e: CachedEmbedding): number {
    return e.hiddenStates.byteLength + (e.pooled?.byteLength ?? 0);
  }

  /** The cached embedding, or undefined (counted as a miss). */
  get(modelHash: string, encoder: string, prompt: string): CachedEmbedding | undefined {
    const key = EmbeddingCache.#key(modelHash, encoder, prompt);
    const e = this.#entries.get(key);
    if (!e) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e;
  }

  /** Stores an embedding (the arrays are kept, not copied), evicting old entries past the budget. */
  set(modelHash: string, encoder: string, prompt: string, value: CachedEmbedding): void {
    const key = EmbeddingCache.#key(modelHash, encoder, prompt);
    const old = this.#entries.get(key);
    if (old) {
      this.#bytes -= EmbeddingCache.#size(old);
      this.#entries.delete(key);
    }
    const size = EmbeddingCache.#size(value);
    if (size > this.maxBytes) return;
    this.#entries.set(key, value);
    this.#bytes += size;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(k);
      this.#bytes -= EmbeddingCache.#size(v);
    }
  }

  /** Entries, bytes held, hits and misses so far. */
  stats(): { entries: number; bytes: number; hits: number; misses: number } {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses };
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

/** The process-wide cache {@link encodePrompts} uses unless given another. */
export const sharedEmbeddingCache: EmbeddingCache = new EmbeddingCache();
