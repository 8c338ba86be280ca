/**
 * The CLIP BPE tokenizer of Stable Diffusion's text encoders, matching Hugging Face transformers 5.x
 * `CLIPTokenizer` id for id (checked against tests/fixtures/tokenizer/clip_golden.json).
 *
 * Padding conventions:
 * - SD 1.x and SDXL's first encoder (`openai/clip-vit-large-patch14` tokenizer) pad with
 *   `<|endoftext|>` = 49407.
 * - SD 2.x and SDXL's second encoder pad with `"!"` = id 0. Their tokenizer folders name `"!"` as the pad
 *   token, which makes it a special token in Hugging Face: every literal `!` in a prompt is cut out
 *   before BPE and becomes id 0 (so `"wow!!"` gives `wow</w>, 0, 0`). OpenCLIP's own tokenizer, which
 *   SD 2 was trained with, only zero-fills the padding and encodes `!` as ordinary text (`!</w>` = 256,
 *   `!!</w>` = 748). This class follows Hugging Face (what diffusers feeds the models); pass
 *   `padTokenIsSpecial: false` to {@linkcode ClipTokenizer.bundled} for OpenCLIP's behaviour.
 *
 * Text cleaning is Hugging Face's (NFC, white space collapsed, per-character lowercase), not OpenAI's /
 * OpenCLIP's `ftfy.fix_text` + `html.unescape` + Python `lower()`. They agree on ordinary prompts; on
 * the golden set (379 strings) open_clip 3.3.0 differs on 47: HTML entities (`&amp;` stays text here),
 * what ftfy rewrites (curly quotes, full-width digits, ligatures, control characters), a word-final
 * `Σ` (`σ` here, `ς` in Python), and a spelled-out `<|endoftext|>` (the special token here, plain text
 * in OpenCLIP).
 *
 * @module
 */

import { type AddedToken, type AddedTokenSpec, splitOnAddedTokens } from "./added_tokens.ts";
import { BytePairEncoder } from "./bpe.ts";
import { byteSymbolsToBytes } from "./byte_level.ts";
import { concatBytes } from "./concat_bytes.ts";
import { loadBundledVocabulary } from "./bundled_vocabulary.ts";
import { readTokenizerFolder } from "./folder.ts";
import { normalizeClipText } from "./normalize.ts";
import { splitWords } from "./pre_tokenize.ts";
import { type ClipVocabulary, END_OF_TEXT, END_OF_WORD, START_OF_TEXT } from "./vocabulary.ts";

/** Context length of every Stable Diffusion text encoder. */
export const CLIP_MAX_LENGTH = 77;

/** One prompt encoded for a CLIP text encoder. */
export interface TokenizedPrompt {
  /** `maxLength` ids: BOS, the prompt's tokens, EOS, then padding. */
  ids: Int32Array;
  /** Tokens before the padding, BOS and EOS included (at most `maxLength`). */
  length: number;
  /** Prompt tokens cut off by truncation (0 when the prompt fits). */
  dropped: number;
}

/** Several prompts encoded into one row-major `[batchSize, maxLength]` id matrix. */
export interface TokenizedBatch {
  /** `batchSize × maxLength` ids, one padded row per prompt. */
  ids: Int32Array;
  /** Tokens before the padding in each row (BOS and EOS included). */
  lengths: Int32Array;
  /** Tokens cut off by truncation in each row. */
  dropped: Int32Array;
  /** Number of prompts. */
  batchSize: number;
  /** Row length. */
  maxLength: number;
}

/** How to build a {@linkcode ClipTokenizer} from a vocabulary. */
export interface ClipTokenizerConfig {
  /** Tokens and merges. */
  vocabulary: ClipVocabulary;
  /** BOS token text; default `<|startoftext|>`. */
  bosToken?: string;
  /** EOS token text; default `<|endoftext|>`. */
  eosToken?: string;
  /**
   * Pad token text (default `<|endoftext|>`). Like every named token it becomes a special added token,
   * so a pad token such as `"!"` is cut out of prompts (Hugging Face behaviour).
   */
  padToken?: string;
  /** Pads with this id instead of `padToken`, leaving the token's text in prompts alone (OpenCLIP). */
  padId?: number;
  /** Token given to symbols missing from the vocabulary; default `<|endoftext|>`. */
  unkToken?: string;
  /**
   * Added tokens with their matching rules (`tokenizer_config.json` `added_tokens_decoder`). Named
   * tokens (bos, eos, pad, unk) not listed here are added as special, non-normalized tokens.
   */
  addedTokens?: readonly AddedTokenSpec[];
  /** Sequence length after padding and truncation; default 77. */
  maxLength?: number;
}

/** Options of {@linkcode ClipTokenizer.bundled}. */
export interface BundledTokenizerOptions {
  /** Padding id: 49407 (`<|endoftext|>`, SD 1.x, SDXL encoder 1; the default) or 0 (`!`, SD 2.x, SDXL encoder 2). */
  padId?: number;
  /**
   * With a pad other than `<|endoftext|>`: treat its text (`!`) in prompts as the pad token, as the
   * Hugging Face tokenizers of SD 2.x / SDXL do (default true), or as ordinary text, as OpenCLIP does.
   */
  padTokenIsSpecial?: boolean;
  /** Sequence length; default 77. */
  maxLength?: number;
}

/** Options of {@linkcode ClipTokenizer.decode}. */
export interface DecodeOptions {
  /** Drop special tokens (BOS, EOS, a special pad such as `!`); default true, like `skip_special_tokens`. */
  skipSpecialTokens?: boolean;
}

/** Python's `str.isspace` set (U+001C..U+001F included), for a `strip()` that matches Hugging Face's decode. */
const PYTHON_SPACE = "\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PYTHON_SPACE_EDGES = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, "g");

/** BPE encoders (with their word caches) shared by all tokenizers of one vocabulary. */
const encoders = new WeakMap<ClipVocabulary, Map<number | undefined, BytePairEncoder>>();

function sharedEncoder(vocabulary: ClipVocabulary, unknownId: number | undefined): BytePairEncoder {
  let byUnknown = encoders.get(vocabulary);
  if (byUnknown === undefined) encoders.set(vocabulary, byUnknown = new Map());
  let encoder = byUnknown.get(unknownId);
  if (encoder === undefined) byUnknown.set(unknownId, encoder = new BytePairEncoder(vocabulary, unknownId));
  return encoder;
}

/**
 * CLIP BPE tokenizer: prompt text → the 77 token ids a Stable Diffusion text encoder takes.
 *
 * @example
 * ```ts
 * import { ClipTokenizer } from "./clip_tokenizer.ts";
 * const tokenizer = await ClipTokenizer.bundled();
 * const prompt = tokenizer.encode("a photo of a cat");
 * prompt.ids.slice(0, 7); // Int32Array [49406, 320, 1125, 539, 320, 2368, 49407]
 * prompt.length; // 7
 * ```
 */
export class ClipTokenizer {
  /** Id of `<|startoftext|>` (49406). */
  readonly bosId: number;
  /** Id of `<|endoftext|>` (49407). */
  readonly eosId: number;
  /** Id that fills a prompt up to `maxLength`: 49407 (SD 1.x, SDXL 1) or 0 (SD 2.x, SDXL 2). */
  readonly padId: number;
  /** Length of every encoded prompt (77). */
  readonly maxLength: number;
  /** Tokens and merges. */
  readonly vocabulary: ClipVocabulary;
  /** Added tokens in matching order, with their ids. */
  readonly addedTokens: readonly AddedToken[];

  readonly #bpe: BytePairEncoder;
  readonly #rawAdded: AddedToken[];
  readonly #normalizedAdded: AddedToken[];
  readonly #addedById: Map<number, AddedToken>;

  /**
   * Builds a tokenizer from a vocabulary and its special-token settings; most callers want
   * {@linkcode ClipTokenizer.bundled}, {@linkcode ClipTokenizer.fromFolder} or `tokenizerForFamily`.
   */
  constructor(config: ClipTokenizerConfig) {
    const { vocabulary } = config;
    const maxLength = config.maxLength ?? CLIP_MAX_LENGTH;
    if (!Number.isInteger(maxLength) || maxLength < 2) {
      throw new RangeError(`ClipTokenizer: maxLength must be an integer ≥ 2, got ${maxLength}`);
    }
    this.vocabulary = vocabulary;
    this.maxLength = maxLength;

    // Resolve added tokens as transformers does: declared ones first, then the named tokens missing
    // from them (as special, non-normalized); an id comes from the vocabulary, else the declaration,
    // else the next free id.
    const specs: AddedTokenSpec[] = [...(config.addedTokens ?? [])];
    const named = [
      config.bosToken ?? START_OF_TEXT,
      config.eosToken ?? END_OF_TEXT,
      ...(config.padId === undefined ? [config.padToken ?? END_OF_TEXT] : []),
      config.unkToken ?? END_OF_TEXT,
    ];
    for (const content of named) {
      if (!specs.some((spec) => spec.content === content)) {
        specs.push({ content, normalized: false, special: true });
      }
    }
    let nextId = vocabulary.tokens.length;
    const added: AddedToken[] = [];
    for (const spec of specs) {
      if (spec.content.length === 0) throw new Error("ClipTokenizer: an added token has empty content");
      if (added.some((token) => token.content === spec.content)) continue;
      const id = vocabulary.ids.get(spec.content) ?? spec.id ?? nextId;
      nextId = Math.max(nextId, id + 1);
      added.push({ ...spec, id });
    }
    this.addedTokens = added;
    this.#addedById = new Map(added.map((token) => [token.id, token]));
    this.#rawAdded = added.filter((token) => !token.normalized);
    // A normalized token is matched in normalized text, so its own text is normalized too.
    this.#normalizedAdded = added.filter((token) => token.normalized).map((token) => ({
      ...token,
      content: normalizeClipText(token.content),
    }));

    const idOf = (content: string): number => added.find((token) => token.content === content)!.id;
    this.bosId = idOf(config.bosToken ?? START_OF_TEXT);
    this.eosId = idOf(config.eosToken ?? END_OF_TEXT);
    this.padId = config.padId ?? idOf(config.padToken ?? END_OF_TEXT);
    if (!Number.isInteger(this.padId) || this.padId < 0) {
      throw new RangeError(`ClipTokenizer: padId must be a non-negative integer, got ${this.padId}`);
    }
    const unknownId = idOf(config.unkToken ?? END_OF_TEXT);
    this.#bpe = sharedEncoder(vocabulary, unknownId);
  }

  /**
   * The tokenizer of a diffusers-style folder (`tokenizer/` or `tokenizer_2/`): `vocab.json`,
   * `merges.txt`, and when present `special_tokens_map.json` / `tokenizer_config.json` for the pad
   * token, added tokens and `model_max_length`, read as transformers 5.x reads them.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tokenizer = await ClipTokenizer.fromFolder("models/sd21/tokenizer");
   * tokenizer.padId; // 0
   * ```
   */
  static async fromFolder(dir: string): Promise<ClipTokenizer> {
    return new ClipTokenizer(await readTokenizerFolder(dir));
  }

  /**
   * The tokenizer over the bundled standard CLIP vocabulary, for single-file checkpoints. Its settings
   * equal those of the SD 1.x tokenizer folder (`padId` 49407) or, with `padId: 0`, of the SD 2.x one.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const sd2 = await ClipTokenizer.bundled({ padId: 0 });
   * sd2.encode("hi").ids.slice(0, 5); // Int32Array [49406, 1883, 49407, 0, 0]
   * ```
   */
  static async bundled(options: BundledTokenizerOptions = {}): Promise<ClipTokenizer> {
    const vocabulary = await loadBundledVocabulary();
    const padId = options.padId ?? vocabulary.ids.get(END_OF_TEXT)!;
    const padToken = vocabulary.tokens[padId];
    if (padToken === undefined) {
      throw new RangeError(`ClipTokenizer.bundled: padId ${padId} is not an id of the CLIP vocabulary`);
    }
    const specialPad = options.padTokenIsSpecial ?? true;
    return new ClipTokenizer({
      vocabulary,
      // As in the openai/clip-vit-large-patch14 and stable-diffusion-2 folders: BOS/EOS are matched in
      // normalized text (so `<|ENDOFTEXT|>` counts), a pad such as `!` in the raw text.
      addedTokens: [
        { content: START_OF_TEXT, normalized: true, special: true },
        { content: END_OF_TEXT, normalized: true, special: true },
      ],
      ...(specialPad ? { padToken } : { padId }),
      maxLength: options.maxLength,
    });
  }

  /**
   * Token ids of a text: no BOS/EOS, no padding, no truncation. Use it for a concept's tokens (to find
   * them in an encoded prompt with `findTokenSequence`) or to count a prompt's tokens.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tokenizer = await ClipTokenizer.bundled();
   * tokenizer.tokenize("Van Gogh"); // [2451, 19697]
   * ```
   */
  tokenize(text: string): number[] {
    if (typeof text !== "string") {
      throw new TypeError(
        `ClipTokenizer: a prompt must be a string, got ${text === null ? "null" : typeof text}`,
      );
    }
    const ids: number[] = [];
    for (const piece of splitOnAddedTokens(text, this.#rawAdded)) {
      if (typeof piece !== "string") {
        ids.push(piece.id);
        continue;
      }
      for (const part of splitOnAddedTokens(normalizeClipText(piece), this.#normalizedAdded)) {
        if (typeof part !== "string") {
          ids.push(part.id);
          continue;
        }
        for (const word of splitWords(part)) {
          for (const id of this.#bpe.encodeWord(word)) ids.push(id);
        }
      }
    }
    return ids;
  }

  /**
   * Encodes a prompt for the text encoder: BOS, its tokens (truncated to `maxLength - 2`), EOS, padding.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tokenizer = await ClipTokenizer.bundled();
   * const { ids, length, dropped } = tokenizer.encode("hello world");
   * // ids: [49406, 3306, 1002, 49407, 49407, …] (77 ids), length 4, dropped 0
   * ```
   */
  encode(text: string): TokenizedPrompt {
    const ids = new Int32Array(this.maxLength);
    const { length, dropped } = this.#encodeInto(text, ids, 0);
    return { ids, length, dropped };
  }

  /**
   * Encodes several prompts into one `[batchSize, maxLength]` matrix.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tokenizer = await ClipTokenizer.bundled();
   * const batch = tokenizer.encodeBatch(["a cat", "a dog"]);
   * batch.ids.length; // 154
   * ```
   */
  encodeBatch(texts: readonly string[]): TokenizedBatch {
    if (!Array.isArray(texts)) throw new TypeError("ClipTokenizer.encodeBatch: expected an array of strings");
    const ids = new Int32Array(texts.length * this.maxLength);
    const lengths = new Int32Array(texts.length);
    const dropped = new Int32Array(texts.length);
    texts.forEach((text, row) => {
      const result = this.#encodeInto(text, ids, row * this.maxLength);
      lengths[row] = result.length;
      dropped[row] = result.dropped;
    });
    return { ids, lengths, dropped, batchSize: texts.length, maxLength: this.maxLength };
  }

  #encodeInto(text: string, out: Int32Array, offset: number): { length: number; dropped: number } {
    const tokens = this.tokenize(text);
    const kept = Math.min(tokens.length, this.maxLength - 2);
    out[offset] = this.bosId;
    for (let i = 0; i < kept; i++) out[offset + 1 + i] = tokens[i];
    out[offset + 1 + kept] = this.eosId;
    out.fill(this.padId, offset + kept + 2, offset + this.maxLength);
    return { length: kept + 2, dropped: tokens.length - kept };
  }

  /**
   * Text of token ids, as Hugging Face's `decode` gives it: tokens joined, bytes decoded as UTF-8,
   * `</w>` read as a space, ends stripped. Special tokens are skipped unless asked otherwise; with a
   * `!` pad token that includes every `!`.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * const tokenizer = await ClipTokenizer.bundled();
   * tokenizer.decode(tokenizer.encode("Hello,  World").ids); // "hello , world"
   * ```
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skipSpecial = options.skipSpecialTokens ?? true;
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      const added = this.#addedById.get(id);
      if (added?.special && skipSpecial) continue;
      const token = added?.content ?? this.vocabulary.tokens[id];
      if (token === undefined) {
        throw new RangeError(`ClipTokenizer.decode: ${id} (at ${i}) is not a token id`);
      }
      chunks.push(byteSymbolsToBytes(token));
    }
    return new TextDecoder().decode(concatBytes(chunks)).replaceAll(END_OF_WORD, " ").replace(
      PYTHON_SPACE_EDGES,
      "",
    );
  }

  /**
   * Id of a token string (`"cat</w>"`, `"<|endoftext|>"`), or undefined.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * (await ClipTokenizer.bundled()).tokenToId("cat</w>"); // 2368
   * ```
   */
  tokenToId(token: string): number | undefined {
    return this.vocabulary.ids.get(token) ?? this.addedTokens.find((added) => added.content === token)?.id;
  }

  /**
   * Token string of an id, or undefined.
   *
   * @example
   * ```ts
   * import { ClipTokenizer } from "./clip_tokenizer.ts";
   * (await ClipTokenizer.bundled()).idToToken(49407); // "<|endoftext|>"
   * ```
   */
  idToToken(id: number): string | undefined {
    return this.#addedById.get(id)?.content ?? this.vocabulary.tokens[id];
  }
}
