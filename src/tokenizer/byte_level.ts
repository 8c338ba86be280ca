/**
 * The byte-level alphabet of CLIP's BPE (GPT-2's `bytes_to_unicode`): each of the 256 byte values is
 * drawn as one printable Unicode character, so that any UTF-8 text becomes a string of symbols that
 * the merge table can work on, and decoding can map the symbols back to the exact bytes.
 *
 * @module
 */

/** True for the bytes that stand for themselves: `!`..`~`, `¡`..`¬`, `®`..`ÿ`. */
function isPrintableByte(byte: number): boolean {
  return (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
}

function buildByteTables(): { order: string[]; byByte: string[] } {
  const order: string[] = [];
  const byByte: string[] = new Array(256);
  for (let byte = 0; byte < 256; byte++) {
    if (isPrintableByte(byte)) {
      byByte[byte] = String.fromCharCode(byte);
      order.push(byByte[byte]);
    }
  }
  // The 68 other bytes (controls, space, 0x7f-0xa0, soft hyphen) move to U+0100.., in byte order, and
  // come after the printable ones in the vocabulary.
  let shifted = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (!isPrintableByte(byte)) {
      byByte[byte] = String.fromCharCode(256 + shifted++);
      order.push(byByte[byte]);
    }
  }
  return { order, byByte };
}

const TABLES = buildByteTables();

/**
 * The 256 byte symbols in vocabulary order (ids 0..255 of the CLIP vocabulary): the printable bytes
 * first, then the shifted ones.
 *
 * @example
 * ```ts
 * import { BYTE_SYMBOLS_IN_VOCAB_ORDER } from "./byte_level.ts";
 * BYTE_SYMBOLS_IN_VOCAB_ORDER[0]; // "!"
 * BYTE_SYMBOLS_IN_VOCAB_ORDER.length; // 256
 * ```
 */
export const BYTE_SYMBOLS_IN_VOCAB_ORDER: readonly string[] = TABLES.order;

/**
 * The symbol of each byte value (index = byte).
 *
 * @example
 * ```ts
 * import { SYMBOL_OF_BYTE } from "./byte_level.ts";
 * SYMBOL_OF_BYTE[0x20]; // "Ġ" (space)
 * ```
 */
export const SYMBOL_OF_BYTE: readonly string[] = TABLES.byByte;

const BYTE_OF_SYMBOL: ReadonlyMap<string, number> = new Map(
  TABLES.byByte.map((symbol, byte) => [symbol, byte] as const),
);

const ENCODER = new TextEncoder();

/**
 * Turns a word into its byte symbols: UTF-8 bytes, each drawn as its symbol (not UTF-16 code units,
 * so non-ASCII text gets the same symbols as the Python tokenizers).
 *
 * @example
 * ```ts
 * import { wordToByteSymbols } from "./byte_level.ts";
 * wordToByteSymbols("hé"); // ["h", "Ã", "©"]
 * ```
 */
export function wordToByteSymbols(word: string): string[] {
  const symbols: string[] = new Array(word.length);
  let ascii = true;
  for (let i = 0; i < word.length; i++) {
    const code = word.charCodeAt(i);
    if (code >= 0x80) {
      ascii = false;
      break;
    }
    symbols[i] = SYMBOL_OF_BYTE[code];
  }
  if (ascii) return symbols;
  const bytes = ENCODER.encode(word);
  const out: string[] = new Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = SYMBOL_OF_BYTE[bytes[i]];
  return out;
}

/**
 * Maps one token's byte symbols back to bytes. A token with any character that is not a byte symbol
 * contributes its own UTF-8 bytes instead, as the Hugging Face `ByteLevel` decoder does.
 *
 * @example
 * ```ts
 * import { byteSymbolsToBytes } from "./byte_level.ts";
 * new TextDecoder().decode(byteSymbolsToBytes("hÃ©")); // "hé"
 * ```
 */
export function byteSymbolsToBytes(token: string): Uint8Array {
  const bytes = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const byte = BYTE_OF_SYMBOL.get(token[i]);
    if (byte === undefined) return ENCODER.encode(token);
    bytes[i] = byte;
  }
  return bytes;
}
