import assert from "node:assert/strict";
import {
  BYTE_SYMBOLS_IN_VOCAB_ORDER,
  byteSymbolsToBytes,
  SYMBOL_OF_BYTE,
  wordToByteSymbols,
} from "./byte_level.ts";
import { loadBundledVocabulary } from "./bundled_vocabulary.ts";
import {
  mergesToText,
  vocabularyFromFiles,
  vocabularyFromMergeList,
  vocabularyToJson,
} from "./vocabulary.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../tests/fixtures/tokenizer/clip_golden.json", import.meta.url)),
);

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}

Deno.test("bundled vocabulary equals the vocab.json/merges.txt transformers loaded (sha256)", async () => {
  const vocabulary = await loadBundledVocabulary();
  assert.equal(vocabulary.tokens.length, fixture.vocabulary.size);
  assert.equal(vocabulary.merges.length, fixture.vocabulary.merges);
  assert.equal(await sha256(vocabulary.tokens.join("\n")), fixture.vocabulary.tokensSha256);
  assert.equal(
    await sha256(vocabulary.merges.map((merge) => merge.join(" ")).join("\n")),
    fixture.vocabulary.mergesSha256,
  );
  assert.deepEqual(
    [vocabulary.ids.get("!"), vocabulary.ids.get("!</w>"), vocabulary.ids.get("<|startoftext|>")],
    [0, 256, 49406],
  );
  assert.equal(await loadBundledVocabulary(), vocabulary, "cached per process");
});

Deno.test("vocab.json text keeps id order, including integer-like keys", async () => {
  const vocabulary = await loadBundledVocabulary();
  const json = vocabularyToJson(vocabulary);
  assert.ok(json.startsWith('{"!":0,"\\"":1,"#":2'));
  const again = vocabularyFromFiles(json, mergesToText(vocabulary));
  assert.equal(again.ids.get("1"), vocabulary.ids.get("1"));
  assert.deepEqual(again.mergeIds, vocabulary.mergeIds);
});

Deno.test("merge list parsing checks its input", () => {
  assert.throws(() => vocabularyFromMergeList("header only", "x.txt", 1), /x\.txt: expected a header line/);
  assert.throws(
    () => vocabularyFromMergeList("#h\ni n\n", "x.txt", 3),
    /has 1 merges after its header, 3 are needed/,
  );
  assert.throws(
    () => vocabularyFromMergeList("#h\ni n\nbad\n", "x.txt", 2),
    /x\.txt line 3: expected "left right"/,
  );
  const tiny = vocabularyFromMergeList("#h\ni n\nt h\n", "x.txt", 2);
  assert.deepEqual([tiny.ids.get("in"), tiny.ids.get("th"), tiny.tokens.length], [512, 513, 516]);
});

Deno.test("byte symbols: 256 distinct printable characters, UTF-8 round trip", () => {
  assert.equal(new Set(BYTE_SYMBOLS_IN_VOCAB_ORDER).size, 256);
  assert.equal(SYMBOL_OF_BYTE[0x20], "\u0120");
  assert.equal(BYTE_SYMBOLS_IN_VOCAB_ORDER[188], "\u0100"); // byte 0 comes after the 188 printable bytes
  const text = "naïve 😀 日本";
  const symbols = wordToByteSymbols(text);
  assert.equal(symbols.length, new TextEncoder().encode(text).length);
  assert.equal(new TextDecoder().decode(byteSymbolsToBytes(symbols.join(""))), text);
  assert.deepEqual(Array.from(byteSymbolsToBytes("a😀")), Array.from(new TextEncoder().encode("a😀")));
});
