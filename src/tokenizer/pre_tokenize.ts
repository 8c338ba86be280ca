/**
 * CLIP's pre-tokenizer: splits normalized text into the words that BPE encodes one at a time, and drops
 * white space.
 *
 * @module
 */

import { WHITE_SPACE_CLASS } from "./normalize.ts";

/**
 * OpenAI CLIP's pattern, `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|
 * [^\s\p{L}\p{N}]+`, with `\s` spelled as Unicode `White_Space` to match the `tokenizers` regex engine.
 * Digits are split one per word. No `i` flag: Hugging Face's split regex is case-sensitive (the text is
 * already lowercase; OpenAI's IGNORECASE only differs on oddities such as `'ſ`).
 */
const WORD_PATTERN = new RegExp(
  String
    .raw`<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^${WHITE_SPACE_CLASS}\p{L}\p{N}]+`,
  "gu",
);

/**
 * Splits normalized text into words. A spelled-out `<|startoftext|>` / `<|endoftext|>` that was not
 * recognised as a special token (see `ClipTokenizer`) becomes three words, `<|`, the name and `|>`:
 * Hugging Face's byte-level pre-tokenizer re-splits it with GPT-2's pattern.
 *
 * @example
 * ```ts
 * import { splitWords } from "./pre_tokenize.ts";
 * splitWords("it's 2016, ok?!"); // ["it", "'s", "2", "0", "1", "6", ",", "ok", "?!"]
 * ```
 */
export function splitWords(normalized: string): string[] {
  const words = normalized.match(WORD_PATTERN);
  if (words === null) return [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    if (word === "<|startoftext|>" || word === "<|endoftext|>") {
      words.splice(i, 1, "<|", word.slice(2, -2), "|>");
      i += 2;
    }
  }
  return words;
}
