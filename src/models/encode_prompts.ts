/**
 * Prompts → text embeddings for a loaded model: validation, tokenization, truncation warnings,
 * the embedding cache, then the family's encoders on ONNX Runtime.
 *
 * @module
 */

import { type CachedEmbedding, type EmbeddingCache, sharedEmbeddingCache } from "./embedding_cache.ts";
import {
  checkEncoders,
  type EncodeOptions,
  encoderKey,
  encodeTokenIds,
  type TextEmbeddings,
  type TextEncoderModel,
} from "./text_encoders.ts";

/** What the encoders need from a tokenizer (the project's `ClipTokenizer` fits). */
export interface PromptTokenizer {
  /** Token ids of one prompt, padded/truncated to 77, with the count of tokens truncation dropped. */
  encode(text: string): { ids: Int32Array; length: number; dropped: number };
}

/** A model's text encoders with their tokenizers (one per encoder). */
export interface PromptEncoderModel extends TextEncoderModel {
  /** Tokenizer of each encoder, in encoder order (SDXL's two pad differently). */
  tokenizers: PromptTokenizer[];
}

/** Options of {@link encodePrompts}. */
export interface EncodePromptsOptions extends EncodeOptions {
  /** Embedding cache (default: the process-wide one); `null` disables caching. */
  cache?: EmbeddingCache | null;
  /** Receives warnings (default `console.warn`). */
  warn?: (message: string) => void;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 37)}...` : text);
}

/**
 * Checks a prompt list: a non-empty array of strings. Returns it typed.
 *
 * @example
 * ```ts
 * import { checkPrompts } from "./encode_prompts.ts";
 * checkPrompts(["a cat"]); // ["a cat"]
 * ```
 */
export function checkPrompts(prompts: unknown): string[] {
  if (!Array.isArray(prompts)) {
    throw new TypeError(`prompts must be an array of strings, got ${typeof prompts}`);
  }
  if (prompts.length === 0) {
    throw new Error('no prompts given: pass at least one prompt (the empty prompt "" is fine)');
  }
  prompts.forEach((p, i) => {
    if (typeof p !== "string") {
      throw new TypeError(`prompt ${i + 1} is ${p === null ? "null" : typeof p}, not text`);
    }
  });
  return prompts as string[];
}

/**
 * Encodes prompts with the model's text encoders, in prompt order. Prompts over 77 tokens are
 * truncated with a warning saying how many tokens were dropped; repeated prompts are encoded once
 * (and, with a model hash, once per model across calls).
 *
 * @example
 * ```ts ignore
 * import { encodePrompts } from "./encode_prompts.ts";
 * const out = await encodePrompts(model, ["a cat", ""]);
 * out.hiddenStates.length; // 2 * 77 * 768 for SD 1.5
 * ```
 */
export async function encodePrompts(
  model: PromptEncoderModel,
  prompts: readonly unknown[],
  options: EncodePromptsOptions = {},
): Promise<TextEmbeddings> {
  const texts = checkPrompts(prompts);
  const plans = checkEncoders(model);
  if (model.tokenizers.length < plans.length) {
    throw new Error(
      `${model.family} needs ${plans.length} tokenizers, the model provides ${model.tokenizers.length}`,
    );
  }
  const seq = plans[0].config.maxPositions;
  const width = plans.reduce((s, p) => s + p.config.hiddenSize, 0);
  const pooledWidth = plans.find((p) => p.graph.pooled)?.config.projectionDim;
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const cache = options.cache === undefined ? sharedEmbeddingCache : options.cache;
  const convention = plans.map((_, e) => encoderKey(model, e)).join("|");
  const hash = model.hash;

  // Unique prompts not already cached, in first-seen order.
  // Hits are kept here so that evictions while storing the new ones cannot lose them.
  const found = new Map<string, CachedEmbedding>();
  const todo: string[] = [];
  const seen = new Set<string>();
  for (const t of texts) {
    if (seen.has(t)) continue;
    seen.add(t);
    const hit = cache && hash ? cache.get(hash, convention, t) : undefined;
    if (hit) found.set(t, hit);
    else todo.push(t);
  }

  if (todo.length > 0) {
    const ids = plans.map(() => new Int32Array(todo.length * seq));
    todo.forEach((text, row) => {
      let dropped = 0;
      model.tokenizers.slice(0, plans.length).forEach((tok, e) => {
        const t = tok.encode(text);
        if (t.ids.length !== seq) {
          throw new Error(`tokenizer ${e + 1} returned ${t.ids.length} ids, need ${seq}`);
        }
        ids[e].set(t.ids, row * seq);
        dropped = Math.max(dropped, t.dropped);
      });
      if (dropped > 0) {
        warn(
          `prompt ${texts.indexOf(text) + 1} ${preview(text)} is longer than the ${seq}-token context: ` +
            `${dropped} token${dropped === 1 ? "" : "s"} dropped`,
        );
      }
    });
    const out = await encodeTokenIds(model, ids, todo.length, options);
    todo.forEach((text, row) => {
      const entry = {
        hiddenStates: out.hiddenStates.slice(row * seq * width, (row + 1) * seq * width),
        pooled: pooledWidth ? out.pooled!.slice(row * pooledWidth, (row + 1) * pooledWidth) : undefined,
      };
      found.set(text, entry);
      if (cache && hash) cache.set(hash, convention, text, entry);
    });
  }

  const hiddenStates = new Float32Array(texts.length * seq * width);
  const pooled = pooledWidth ? new Float32Array(texts.length * pooledWidth) : undefined;
  texts.forEach((text, i) => {
    const e = found.get(text)!;
    hiddenStates.set(e.hiddenStates, i * seq * width);
    if (pooled && e.pooled) pooled.set(e.pooled, i * pooledWidth!);
  });
  return { count: texts.length, sequence: seq, width, hiddenStates, pooledWidth, pooled };
}
