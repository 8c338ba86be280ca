/**
 * Which embedding rows the closed-form methods use, under the two token conventions of the reference code.
 *
 * - `aligned` (UCE as published, and the UCE edit RECE starts from): the concept's rows from its last word
 *   token on, aligned with the guide's rows from the guide's last word token on — so EOS meets EOS and
 *   padding meets padding; preserve texts contribute all 77 rows.
 * - `last-token` (the current UCE code): one row per text, at its last word token (for an empty prompt,
 *   the BOS row).
 *
 * The last word token of a prompt of `length` tokens (BOS and EOS included) is at index `length − 2`.
 *
 * @module
 */
import { type Matrix64, matrix64 } from "../../../kernels/matrix.ts";

/** Token convention of the edit rows. */
export type TokenConvention = "aligned" | "last-token";

/** One encoded prompt: its 77 rows and its token count. */
export interface EncodedText {
  /** The prompt. */
  text: string;
  /** 77×d embedding rows. */
  rows: Matrix64;
  /** Tokens including BOS and EOS, before padding. */
  length: number;
}

/**
 * Index of the last word token (0, the BOS row, for an empty prompt).
 *
 * @example
 * ```ts
 * import { lastTokenIndex } from "./rows.ts";
 * lastTokenIndex(4); // "van gogh": BOS van gogh EOS → 2
 * ```
 */
export function lastTokenIndex(length: number): number {
  return Math.max(0, length - 2);
}

function sliceRows(m: Matrix64, start: number, end: number): Matrix64 {
  return matrix64(end - start, m.cols, m.data.slice(start * m.cols, end * m.cols));
}

/**
 * Edit keys and guide rows for one concept and its guide.
 *
 * @example
 * ```ts ignore
 * import { editRows } from "./rows.ts";
 * const { keys, guides } = editRows(concept, guide, "aligned"); // "nudity" → " ": 75 rows each
 * ```
 */
export function editRows(
  concept: EncodedText,
  guide: EncodedText,
  convention: TokenConvention,
): { keys: Matrix64; guides: Matrix64 } {
  const a = lastTokenIndex(concept.length), b = lastTokenIndex(guide.length);
  const n = concept.rows.rows;
  if (convention === "last-token") {
    return { keys: sliceRows(concept.rows, a, a + 1), guides: sliceRows(guide.rows, b, b + 1) };
  }
  const f = Math.max(a, b);
  return { keys: sliceRows(concept.rows, a, n - (f - a)), guides: sliceRows(guide.rows, b, n - (f - b)) };
}

/**
 * Preserve rows of one text: all rows (`aligned`), or the last word token's row (`last-token`).
 *
 * @example
 * ```ts ignore
 * import { preserveRows } from "./rows.ts";
 * preserveRows(emptyPrompt, "aligned").rows; // 77
 * ```
 */
export function preserveRows(text: EncodedText, convention: TokenConvention): Matrix64 {
  if (convention === "aligned") return text.rows;
  const a = lastTokenIndex(text.length);
  return sliceRows(text.rows, a, a + 1);
}
