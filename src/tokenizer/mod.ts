/**
 * CLIP BPE tokenizer for Stable Diffusion text encoders: prompt → 77 token ids, equal to Hugging Face
 * transformers' `CLIPTokenizer`, from a diffusers tokenizer folder or the bundled standard vocabulary.
 *
 * @example
 * ```ts
 * import { findTokenSequence, tokenizerForFamily } from "./mod.ts";
 * const tokenizer = await tokenizerForFamily("sd15");
 * const prompt = tokenizer.encode("a painting in the style of Van Gogh");
 * findTokenSequence(prompt.ids, tokenizer.tokenize("Van Gogh"), prompt.length); // [7]
 * ```
 *
 * @module
 */

export {
  type BundledTokenizerOptions,
  CLIP_MAX_LENGTH,
  ClipTokenizer,
  type ClipTokenizerConfig,
  type DecodeOptions,
  type TokenizedBatch,
  type TokenizedPrompt,
} from "./clip_tokenizer.ts";
export type { AddedToken, AddedTokenSpec } from "./added_tokens.ts";
export { loadBundledVocabulary } from "./bundled_vocabulary.ts";
export { exportVocabulary, type ExportVocabularyOptions } from "./export_vocabulary.ts";
export { type TokenizerFamily, tokenizerForFamily } from "./family.ts";
export { findTokenSequence, tokenPositions } from "./find_tokens.ts";
export { readTokenizerFolder } from "./folder.ts";
export {
  type ClipVocabulary,
  END_OF_TEXT,
  mergesToText,
  START_OF_TEXT,
  vocabularyFromFiles,
  vocabularyFromMergeList,
  vocabularyToJson,
} from "./vocabulary.ts";
