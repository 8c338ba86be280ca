import assert from "node:assert/strict";
import { conceptPositions } from "./concept_positions.ts";
import { tokenizerForFamily } from "../../tokenizer/family.ts";

Deno.test("FMN positions: every occurrence, EOS policy per family's padding", async () => {
  const sd1 = await tokenizerForFamily("sd15"), sd2 = await tokenizerForFamily("sd21");
  const concept = sd1.tokenize("elon musk");
  for (const [tok, allCount] of [[sd1, 2 + 1 + 77 - 10], [sd2, 3]] as const) {
    const p = tok.encode("a photo of elon musk with elon musk");
    assert.equal(p.length, 10);
    const first = conceptPositions(p.ids, p.length, concept, 49407, "first");
    assert.deepEqual(first.conceptPositions, [4, 5, 7, 8]);
    assert.deepEqual(first.positions, [4, 5, 7, 8, 9]);
    const all = conceptPositions(p.ids, p.length, concept, 49407, "all");
    // SD 1.x pads with <|endoftext|>: EOS and every padding position are marked; SD 2.x pads with "!".
    assert.equal(all.positions.length, tok === sd1 ? 4 + 1 + 67 : 5, `${allCount}`);
    assert.deepEqual(conceptPositions(p.ids, p.length, concept, 49407, "none").positions, [4, 5, 7, 8]);
    // "after": from the first concept token to the end (words that follow, EOS, padding), whatever the pad id.
    const after = conceptPositions(p.ids, p.length, concept, 49407, "after");
    assert.deepEqual(after.positions, Array.from({ length: 77 - 4 }, (_, i) => 4 + i));
    assert.deepEqual(after.conceptPositions, [4, 5, 7, 8]);
  }
  assert.throws(
    () => conceptPositions(sd1.encode("a photo of a cat").ids, 7, concept, 49407),
    /do not occur in the prompt/,
  );
});
