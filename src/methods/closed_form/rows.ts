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

/**
 * Which rows of each text an encoding holds: `"all"` 77, or `"through-last-token"` only BOS through the last
 * word token (`lastTokenIndex(length) + 1` rows) — all the `last-token` convention reads, and, the text
 * transformer being causal, computed from those tokens alone.
 */
export type EncodedRows = "all" | "through-last-token";

/** One encoded prompt: its rows and its token count. */
export interface EncodedText {
  /** The prompt. */
  text: string;
  /** Embedding rows, d wide: 77, or for a `"through-last-token"` encoding `lastTokenIndex(length) + 1`. */
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

/**
 * The rows a convention reads of each text: `"through-last-token"` for `last-token`, `"all"` for `aligned`.
 *
 * @example
 * ```ts
 * import { rowsNeeded } from "./rows.ts";
 * rowsNeeded("last-token"); // "through-last-token"
 * ```
 */
export function rowsNeeded(convention: TokenConvention): EncodedRows {
  return convention === "last-token" ? "through-last-token" : "all";
}

/** Checks that `text` holds what `convention` reads: the last word token's row, and for `aligned` EOS after it. */
function checkHeld(text: EncodedText, convention: TokenConvention): void {
  const need = lastTokenIndex(text.length) + (convention === "aligned" ? 2 : 1);
  if (text.rows.rows < need) {
    throw new RangeError(
      `encoding of ${JSON.stringify(text.text)} holds ${text.rows.rows} rows; the ${convention} convention ` +
        `reads ${need}` + (convention === "aligned" ? " (a prefix encoding cannot be aligned)" : ""),
    );
  }
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
  checkHeld(concept, convention);
  checkHeld(guide, convention);
  const a = lastTokenIndex(concept.length), b = lastTokenIndex(guide.length);
  if (convention === "last-token") {
    return { keys: sliceRows(concept.rows, a, a + 1), guides: sliceRows(guide.rows, b, b + 1) };
  }
  if (concept.rows.rows !== guide.rows.rows) {
    throw new RangeError(
      `aligned rows need encodings of one length: ${JSON.stringify(concept.text)} has ${concept.rows.rows} ` +
        `rows, ${JSON.stringify(guide.text)} ${guide.rows.rows}`,
    );
  }
  const n = concept.rows.rows;
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
  checkHeld(text, convention);
  if (convention === "aligned") return text.rows;
  const a = lastTokenIndex(text.length);
  return sliceRows(text.rows, a, a + 1);
}
