import assert from "node:assert/strict";
import { matrix64 } from "../../../kernels/matrix.ts";
import { editRows, type EncodedText, lastTokenIndex, preserveRows } from "./rows.ts";

/** A text of `length` tokens encoded with `held` rows of width 2, row i = [i, −i]. */
function encoded(text: string, length: number, held: number): EncodedText {
  const data = new Float64Array(held * 2).map((_, j) => (j % 2 ? -1 : 1) * Math.floor(j / 2));
  return { text, length, rows: matrix64(held, 2, data) };
}

Deno.test("rows: last-token reads the last word token's row from a full or a prefix encoding", () => {
  for (const held of [77, 3]) {
    const concept = encoded("van gogh", 4, held), guide = encoded("art", 3, held);
    const { keys, guides } = editRows(concept, guide, "last-token");
    assert.deepEqual([...keys.data, ...guides.data], [2, -2, 1, -1]);
    assert.deepEqual([...preserveRows(encoded("", 2, held === 77 ? 77 : 1), "last-token").data], [0, -0]);
  }
  assert.equal(lastTokenIndex(2), 0);
});

Deno.test("rows: a prefix encoding is refused where all rows are read", () => {
  const prefix = encoded("van gogh", 4, 3);
  assert.throws(
    () => editRows(prefix, encoded("art", 3, 77), "aligned"),
    /holds 3 rows; .* cannot be aligned/,
  );
  assert.throws(
    () => preserveRows(prefix, "aligned"),
    /"van gogh" holds 3 rows; the aligned convention reads 4/,
  );
  assert.throws(
    () => preserveRows(encoded("x", 5, 2), "last-token"),
    /holds 2 rows; the last-token convention reads 4/,
  );
  assert.throws(
    () => editRows(encoded("a", 4, 77), encoded("b", 4, 70), "aligned"),
    /aligned rows need encodings of one length/,
  );
});
