import assert from "node:assert/strict";
import { ClipTokenizer } from "./clip_tokenizer.ts";
import { findTokenSequence, tokenPositions } from "./find_tokens.ts";

Deno.test("finds every occurrence of a concept in an encoded prompt", async () => {
  const tokenizer = await ClipTokenizer.bundled();
  const concept = tokenizer.tokenize("Van Gogh");
  const prompt = tokenizer.encode("Van Gogh's starry night, by van gogh (VAN GOGH)");
  const starts = findTokenSequence(prompt.ids, concept, prompt.length);
  assert.equal(starts.length, 3);
  for (const start of starts) assert.deepEqual(Array.from(prompt.ids.subarray(start, start + 2)), concept);
  assert.deepEqual(tokenPositions(prompt.ids, concept, prompt.length), starts.flatMap((s) => [s, s + 1]));
});

Deno.test("the limit keeps a '!' concept away from '!' padding", async () => {
  const tokenizer = await ClipTokenizer.bundled({ padId: 0 });
  const prompt = tokenizer.encode("hooray!");
  const bang = tokenizer.tokenize("!");
  assert.deepEqual(bang, [0]);
  assert.deepEqual(findTokenSequence(prompt.ids, bang, prompt.length), [2]);
  assert.equal(findTokenSequence(prompt.ids, bang).length, 77 - 4 + 1);
});

Deno.test("overlaps, edges and empty needles", () => {
  assert.deepEqual(findTokenSequence([1, 1, 1], [1, 1]), [0, 1]);
  assert.deepEqual(tokenPositions([1, 1, 1], [1, 1]), [0, 1, 2]);
  assert.deepEqual(findTokenSequence([5, 6], [6, 7]), []);
  assert.deepEqual(findTokenSequence([5], [5, 6]), []);
  assert.deepEqual(findTokenSequence(new Int32Array([7, 8, 7]), [7], 2), [0]);
  assert.throws(() => findTokenSequence([1], []), /empty/);
});
