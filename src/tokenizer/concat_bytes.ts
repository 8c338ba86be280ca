/**
 * Joins byte chunks (inflater output, decoded tokens) into one array.
 *
 * @module
 */

/**
 * Concatenates byte arrays.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./concat_bytes.ts";
 * concatBytes([new Uint8Array([1]), new Uint8Array([2, 3])]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const chunk of chunks) size += chunk.length;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
