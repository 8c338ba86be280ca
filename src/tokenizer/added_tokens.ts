/**
 * Added (special) tokens: strings such as `<|endoftext|>`, or `!` where it is the pad token, that the
 * Hugging Face tokenizer cuts out of the prompt whole before BPE and maps straight to their id.
 *
 * @module
 */

/** An added token as a tokenizer folder declares it. */
export interface AddedTokenSpec {
  /** The token's text. */
  readonly content: string;
  /**
   * Matched in the normalized (NFC, lowercased) text when true, in the raw prompt when false; so a
   * normalized `<|endoftext|>` also catches `<|ENDOFTEXT|>`.
   */
  readonly normalized: boolean;
  /** Special tokens are dropped by `decode` unless asked to keep them. */
  readonly special: boolean;
  /** The id a `tokenizer_config.json` `added_tokens_decoder` gives it; the vocabulary's id wins. */
  readonly id?: number;
}

/** An added token with its resolved id. */
export interface AddedToken extends AddedTokenSpec {
  /** Its id. */
  readonly id: number;
}

/**
 * Cuts every occurrence of the given tokens out of `text`, scanning left to right and preferring the
 * longest token where several start at the same place. Returns the text pieces (non-empty) and the
 * matched tokens in order.
 *
 * @example
 * ```ts
 * import { splitOnAddedTokens } from "./added_tokens.ts";
 * const bang = { content: "!", normalized: false, special: true, id: 0 };
 * splitOnAddedTokens("hi! you", [bang]); // ["hi", bang, " you"]
 * ```
 */
export function splitOnAddedTokens(text: string, tokens: readonly AddedToken[]): (string | AddedToken)[] {
  if (tokens.length === 0) return text.length > 0 ? [text] : [];
  const out: (string | AddedToken)[] = [];
  let from = 0;
  while (from < text.length) {
    let best: AddedToken | undefined;
    let bestAt = text.length;
    for (const token of tokens) {
      const at = text.indexOf(token.content, from);
      if (at < 0) continue;
      if (
        at < bestAt || (at === bestAt && best !== undefined && token.content.length > best.content.length)
      ) {
        best = token;
        bestAt = at;
      }
    }
    if (best === undefined) break;
    if (bestAt > from) out.push(text.slice(from, bestAt));
    out.push(best);
    from = bestAt + best.content.length;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}
