/**
 * Text cleaning before CLIP tokenization, equal to the Hugging Face `CLIPTokenizer` normalizer
 * (transformers 5.x, `tokenizers`): Unicode NFC, every run of white space → one space, lowercase.
 *
 * Not done, as in Hugging Face: OpenAI CLIP's `ftfy.fix_text` (mojibake repair) and `html.unescape`, so
 * `"&amp;"` stays five characters. Leading/trailing white space is not stripped here, but it never
 * reaches a token: the pre-tokenizer drops white space.
 *
 * @module
 */

/**
 * Unicode `White_Space`, which the Rust regex engine of `tokenizers` means by `\s`. JavaScript's `\s`
 * differs: it adds U+FEFF and lacks U+0085.
 */
export const WHITE_SPACE_CLASS =
  "\\t-\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";

const WHITE_SPACE_RUN = new RegExp(`[${WHITE_SPACE_CLASS}]+`, "gu");
const CAPITAL_SIGMA = /\u03a3/g;

/**
 * Normalizes prompt text the way the Hugging Face CLIP tokenizer does: NFC, white-space runs → `" "`,
 * lowercase character by character (so a word-final `Σ` becomes `σ`, not the contextual `ς` that
 * `String.prototype.toLowerCase` would give).
 *
 * @example
 * ```ts
 * import { normalizeClipText } from "./normalize.ts";
 * normalizeClipText("Cafe\u0301\t\tΣΑΣ"); // "café σασ"
 * ```
 */
export function normalizeClipText(text: string): string {
  // Final_Sigma is the only context-dependent rule of JavaScript's (locale-free) lowercasing; mapping
  // capital sigma first leaves a per-character lowercase, as Rust's `char::to_lowercase` does.
  return text.normalize("NFC").replace(WHITE_SPACE_RUN, " ").replace(CAPITAL_SIGMA, "\u03c3").toLowerCase();
}
