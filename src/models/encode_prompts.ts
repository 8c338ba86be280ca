/**
 * Prompts → text embeddings for a loaded model: validation, tokenization, truncation warnings,
 * the embedding cache, then the family's encoders on ONNX Runtime. {@linkcode encodePrompts} returns all
 * 77 rows of every prompt; {@linkcode encodePromptPrefixes} only each prompt's rows through its last word
 * token, from a run on just those tokens (the text transformer is causal, so they are the same rows).
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

/** Options of {@link encodePrompts} and {@link encodePromptPrefixes} (which choose the sequence length). */
export interface EncodePromptsOptions extends Omit<EncodeOptions, "sequenceLength"> {
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

/** Cache key suffix of prefix entries: they never answer a full request (a full entry can answer a prefix one). */
const PREFIX_ENTRY = "|prefix";

/** What both encoders share: checked prompts, the family's plans, and the cache to use. */
interface Prepared {
  texts: string[];
  plans: ReturnType<typeof checkEncoders>;
  seq: number;
  width: number;
  cache: EmbeddingCache | null;
  convention: string;
  /** Where truncation warnings go (default `console.warn`). */
  warn: (message: string) => void;
}

function prepare(
  model: PromptEncoderModel,
  prompts: readonly unknown[],
  options: EncodePromptsOptions,
): Prepared {
  const texts = checkPrompts(prompts);
  const plans = checkEncoders(model);
  if (model.tokenizers.length < plans.length) {
    throw new Error(
      `${model.family} needs ${plans.length} tokenizers, the model provides ${model.tokenizers.length}`,
    );
  }
  return {
    texts,
    plans,
    seq: plans[0].config.maxPositions,
    width: plans.reduce((s, p) => s + p.config.hiddenSize, 0),
    cache: model.hash ? (options.cache === undefined ? sharedEmbeddingCache : options.cache) : null,
    convention: plans.map((_, e) => encoderKey(model, e)).join("|"),
    warn: options.warn ?? ((m: string) => console.warn(m)),
  };
}

/** Unique prompts in first-seen order. */
function unique(texts: string[]): string[] {
  return [...new Set(texts)];
}

/** One prompt's token ids per encoder (77 each), its token count (first tokenizer) and how many were cut. */
interface Tokenized {
  ids: Int32Array[];
  length: number;
  dropped: number;
}

function tokenize(model: PromptEncoderModel, p: Prepared, text: string): Tokenized {
  const tokenized = model.tokenizers.slice(0, p.plans.length).map((tok, e) => {
    const t = tok.encode(text);
    if (t.ids.length !== p.seq) {
      throw new Error(`tokenizer ${e + 1} returned ${t.ids.length} ids, need ${p.seq}`);
    }
    return t;
  });
  return {
    ids: tokenized.map((t) => t.ids),
    length: tokenized[0].length,
    dropped: Math.max(...tokenized.map((t) => t.dropped)),
  };
}

/** Warns that a prompt being encoded was truncated (cache hits were warned about when they were encoded). */
function warnDropped(p: Prepared, text: string, t: Tokenized): void {
  if (t.dropped > 0) {
    p.warn(
      `prompt ${p.texts.indexOf(text) + 1} ${preview(text)} is longer than the ${p.seq}-token context: ` +
        `${t.dropped} token${t.dropped === 1 ? "" : "s"} dropped`,
    );
  }
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
  const p = prepare(model, prompts, options);
  const { texts, plans, seq, width, cache, convention } = p;
  const pooledWidth = plans.find((plan) => plan.graph.pooled)?.config.projectionDim;

  // Hits are kept here so that evictions while storing the new ones cannot lose them.
  const found = new Map<string, CachedEmbedding>();
  const todo: string[] = [];
  for (const t of unique(texts)) {
    const hit = cache?.get(model.hash!, convention, t);
    if (hit) found.set(t, hit);
    else todo.push(t);
  }

  if (todo.length > 0) {
    const ids = plans.map(() => new Int32Array(todo.length * seq));
    todo.forEach((text, row) => {
      const t = tokenize(model, p, text);
      warnDropped(p, text, t);
      t.ids.forEach((a, e) => ids[e].set(a, row * seq));
    });
    const out = await encodeTokenIds(model, ids, todo.length, { ...options, sequenceLength: seq });
    todo.forEach((text, row) => {
      const entry = {
        hiddenStates: out.hiddenStates.slice(row * seq * width, (row + 1) * seq * width),
        pooled: pooledWidth ? out.pooled!.slice(row * pooledWidth, (row + 1) * pooledWidth) : undefined,
      };
      found.set(text, entry);
      cache?.set(model.hash!, convention, text, entry);
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

/** One prompt's encoder rows through its last word token. */
export interface PromptPrefix {
  /** Tokens of the prompt, BOS and EOS included, before padding (first tokenizer; at most 77). */
  length: number;
  /**
   * Rows held: positions `0 … rows − 1`, i.e. `max(1, length − 1)` — BOS and the word tokens, not EOS
   * or padding, which were never computed.
   */
  rows: number;
  /** `[rows, width]` hidden states, equal to the first `rows` rows of the full 77-row encoding. */
  hiddenStates: Float32Array;
}

/** Result of {@linkcode encodePromptPrefixes}. */
export interface PromptPrefixes {
  /** Number of prompts. */
  count: number;
  /** Feature width of every row. */
  width: number;
  /** Per prompt, in prompt order. */
  prompts: PromptPrefix[];
}

/** Rows a prefix needs for a prompt of `length` tokens: BOS through the last word token. */
function prefixRows(length: number, seq: number): number {
  return Math.min(seq, Math.max(1, length - 1));
}

/**
 * Encodes only what the last-word-token convention reads: each prompt's rows from BOS through its last
 * word token, from runs on just those tokens (prompts grouped by length, each group at its length). The
 * text transformer is causal, so the rows equal the full encoding's first rows; a prompt of 4 tokens costs
 * 3 positions instead of 77. There is no pooled output (SDXL's is read at the end-of-text token).
 *
 * Prefixes are cached apart from full encodings (a cached full encoding serves a prefix request, never
 * the other way round).
 *
 * @example
 * ```ts ignore
 * import { encodePromptPrefixes } from "./encode_prompts.ts";
 * const out = await encodePromptPrefixes(model, ["van gogh", ""]);
 * out.prompts[0].rows; // 3: BOS, "van", "gogh"
 * out.prompts[1].rows; // 1: BOS
 * ```
 */
export async function encodePromptPrefixes(
  model: PromptEncoderModel,
  prompts: readonly unknown[],
  options: EncodePromptsOptions = {},
): Promise<PromptPrefixes> {
  const p = prepare(model, prompts, options);
  const { texts, plans, seq, width, cache, convention } = p;

  const found = new Map<string, PromptPrefix>();
  const groups = new Map<number, { text: string; ids: Int32Array[]; length: number }[]>();
  for (const text of unique(texts)) {
    const t = tokenize(model, p, text);
    const rows = prefixRows(t.length, seq);
    const prefixHit = cache?.get(model.hash!, convention + PREFIX_ENTRY, text);
    const hit = prefixHit ?? cache?.get(model.hash!, convention, text);
    if (hit) {
      found.set(text, { length: t.length, rows, hiddenStates: hit.hiddenStates.slice(0, rows * width) });
      continue;
    }
    warnDropped(p, text, t);
    let group = groups.get(rows);
    if (!group) groups.set(rows, group = []);
    group.push({ text, ids: t.ids, length: t.length });
  }

  for (const [rows, group] of groups) {
    const ids = plans.map((_, e) => {
      const out = new Int32Array(group.length * rows);
      group.forEach((g, i) => out.set(g.ids[e].subarray(0, rows), i * rows));
      return out;
    });
    const out = await encodeTokenIds(model, ids, group.length, { ...options, sequenceLength: rows });
    group.forEach((g, i) => {
      const hiddenStates = out.hiddenStates.slice(i * rows * width, (i + 1) * rows * width);
      found.set(g.text, { length: g.length, rows, hiddenStates });
      cache?.set(model.hash!, convention + PREFIX_ENTRY, g.text, { hiddenStates: hiddenStates.slice() });
    });
  }
  // Repeated prompts get their own copies: callers may change what they are given.
  const given = new Set<PromptPrefix>();
  const result = texts.map((t) => {
    const e = found.get(t)!;
    if (!given.has(e)) {
      given.add(e);
      return e;
    }
    return { ...e, hiddenStates: e.hiddenStates.slice() };
  });
  return { count: texts.length, width, prompts: result };
}
