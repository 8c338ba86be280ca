import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTokenizer } from "./clip_tokenizer.ts";
import { exportVocabulary } from "./export_vocabulary.ts";
import { tokenizerForFamily } from "./family.ts";
import { loadBundledVocabulary } from "./bundled_vocabulary.ts";

/** One layout's expected output for a string (tests/reference/tokenizer_fixtures.py). */
interface Expected {
  ids: number[];
  dropped: number;
  decoded: string;
}
type Layout = "sd1" | "sd2" | "modern" | "bare";
interface Entry extends Expected {
  text: string;
  sd2?: Expected;
  modern?: Expected;
  bare?: Expected;
  /** open_clip's own ids (unpadded), only where they differ from `ids`. */
  openclip?: number[];
}
interface Fixture {
  maxLength: number;
  padIds: Record<Layout, number>;
  vocabulary: { size: number; merges: number; tokensSha256: string; mergesSha256: string };
  folders: Record<Layout, Record<string, unknown>>;
  golden: Record<string, number[]>;
  entries: Entry[];
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../tests/fixtures/tokenizer/clip_golden.json", import.meta.url)),
);

/** Layouts only record what differs: sd2 from sd1, modern from sd2, bare from sd1. */
function expected(entry: Entry, layout: Layout): Expected {
  if (layout === "sd1") return entry;
  if (layout === "sd2") return entry.sd2 ?? entry;
  if (layout === "modern") return entry.modern ?? expected(entry, "sd2");
  return entry.bare ?? entry;
}

function checkAll(tokenizer: ClipTokenizer, layout: Layout, label: string): void {
  assert.equal(tokenizer.padId, fixture.padIds[layout], `${label}: pad id`);
  assert.equal(tokenizer.maxLength, fixture.maxLength);
  let mismatches = 0;
  for (const entry of fixture.entries) {
    const want = expected(entry, layout);
    const got = tokenizer.encode(entry.text);
    const padding = new Array(fixture.maxLength - want.ids.length).fill(fixture.padIds[layout]);
    const message = `${label}: ${JSON.stringify(entry.text.slice(0, 80))}`;
    try {
      assert.deepEqual(Array.from(got.ids), [...want.ids, ...padding], message);
      assert.equal(got.length, want.ids.length, message);
      assert.equal(got.dropped, want.dropped, message);
      assert.equal(tokenizer.decode(tokenizer.tokenize(entry.text)), want.decoded, `${message} (decode)`);
    } catch (error) {
      if (++mismatches <= 5) console.error((error as Error).message);
    }
  }
  assert.equal(
    mismatches,
    0,
    `${label}: ${mismatches} of ${fixture.entries.length} strings differ from transformers`,
  );
}

Deno.test("fixture covers what the task needs", () => {
  assert.ok(fixture.entries.length >= 200);
  assert.ok(fixture.entries.some((entry) => entry.dropped > 100), "very long prompts");
  assert.ok(
    fixture.entries.some((entry) => entry.sd2 !== undefined),
    "strings where the pad conventions differ",
  );
});

Deno.test("bundled tokenizer equals transformers CLIPTokenizer, pad <|endoftext|> (SD 1.x)", async () => {
  checkAll(await ClipTokenizer.bundled(), "sd1", "bundled");
});

Deno.test("bundled tokenizer with padId 0 equals transformers with pad '!' (SD 2.x)", async () => {
  checkAll(await ClipTokenizer.bundled({ padId: 0 }), "sd2", "bundled pad 0");
});

Deno.test("tokenizerForFamily picks the pad convention of each text encoder", async () => {
  checkAll(await tokenizerForFamily("sd15"), "sd1", "sd15");
  checkAll(await tokenizerForFamily("sd21"), "sd2", "sd21");
  assert.equal((await tokenizerForFamily("sdxl")).padId, 49407);
  assert.equal((await tokenizerForFamily("sdxl", 2)).padId, 0);
  assert.throws(() => tokenizerForFamily("sd15", 2), /only sdxl has a second/);
  assert.throws(() => tokenizerForFamily("sd3" as "sd15"), /unknown family/);
});

Deno.test("the four golden vectors of the reference notes", async () => {
  const tokenizer = await ClipTokenizer.bundled();
  assert.equal(Object.keys(fixture.golden).length, 4);
  for (const [text, ids] of Object.entries(fixture.golden)) {
    const got = tokenizer.encode(text);
    assert.deepEqual(Array.from(got.ids.subarray(0, got.length)), ids, text);
  }
  assert.deepEqual(
    Array.from(tokenizer.encode("How are you doing?").ids.subarray(0, 7)),
    [49406, 829, 631, 592, 1960, 286, 49407],
  );
});

Deno.test("fromFolder on exported vocabularies equals transformers for every folder layout", async () => {
  const vocabulary = await loadBundledVocabulary();
  const root = await Deno.makeTempDir({ prefix: "clip_tokenizer_" });
  try {
    for (const layout of Object.keys(fixture.folders) as Layout[]) {
      const dir = join(root, layout);
      await exportVocabulary(vocabulary, dir);
      for (const [name, content] of Object.entries(fixture.folders[layout])) {
        await Deno.writeTextFile(join(dir, name), JSON.stringify(content));
      }
      const tokenizer = await ClipTokenizer.fromFolder(dir);
      assert.equal(tokenizer.vocabulary.tokens.length, vocabulary.tokens.length);
      assert.deepEqual(tokenizer.vocabulary.tokens, vocabulary.tokens, `${layout}: vocab.json round trip`);
      assert.deepEqual(tokenizer.vocabulary.merges, vocabulary.merges, `${layout}: merges.txt round trip`);
      checkAll(tokenizer, layout, `fromFolder(${layout})`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("OpenCLIP convention: pad 0, '!' as text; equals open_clip wherever its cleaning agrees", async () => {
  const tokenizer = await ClipTokenizer.bundled({ padId: 0, padTokenIsSpecial: false });
  let bangStringsMatchingOpenClip = 0;
  for (const entry of fixture.entries) {
    const got = tokenizer.encode(entry.text);
    const padding = new Array(fixture.maxLength - entry.ids.length).fill(0);
    assert.deepEqual(Array.from(got.ids), [...entry.ids, ...padding], entry.text);
    // Where open_clip (ftfy, html.unescape, Python lower(), no special tokens) agrees with Hugging
    // Face's cleaning, this mode reproduces it exactly, "!" included.
    if (entry.sd2 !== undefined && entry.openclip === undefined) bangStringsMatchingOpenClip++;
  }
  assert.ok(bangStringsMatchingOpenClip >= 25, `${bangStringsMatchingOpenClip} "!" strings match open_clip`);
  assert.deepEqual(tokenizer.tokenize("wow!!"), [2781, 748]);
});

Deno.test("truncation keeps BOS, the first 75 tokens and EOS, and counts what it drops", async () => {
  const tokenizer = await ClipTokenizer.bundled();
  const fits = tokenizer.encode("a ".repeat(75));
  assert.deepEqual([fits.length, fits.dropped, fits.ids[76]], [77, 0, 49407]);
  const over = tokenizer.encode("a ".repeat(80));
  assert.deepEqual([over.length, over.dropped, over.ids[0], over.ids[75], over.ids[76]], [
    77,
    5,
    49406,
    320,
    49407,
  ]);
  const long = tokenizer.encode("x".repeat(500));
  assert.equal(long.length + long.dropped - 2, tokenizer.tokenize("x".repeat(500)).length);
  const empty = tokenizer.encode("");
  assert.deepEqual([empty.length, empty.dropped, empty.ids[0], empty.ids[1], empty.ids[2]], [
    2,
    0,
    49406,
    49407,
    49407,
  ]);
});

Deno.test("encodeBatch rows equal encode", async () => {
  const tokenizer = await ClipTokenizer.bundled({ padId: 0 });
  const texts = fixture.entries.slice(0, 40).map((entry) => entry.text);
  const batch = tokenizer.encodeBatch(texts);
  assert.equal(batch.ids.length, texts.length * 77);
  texts.forEach((text, row) => {
    const single = tokenizer.encode(text);
    assert.deepEqual(batch.ids.subarray(row * 77, row * 77 + 77), single.ids, text);
    assert.equal(batch.lengths[row], single.length);
    assert.equal(batch.dropped[row], single.dropped);
  });
});

Deno.test("bad input: non-string prompts, unknown ids", async () => {
  const tokenizer = await ClipTokenizer.bundled();
  assert.throws(() => tokenizer.encode(42 as unknown as string), TypeError);
  assert.throws(() => tokenizer.tokenize(null as unknown as string), /must be a string, got null/);
  assert.throws(() => tokenizer.encodeBatch(["ok", undefined as unknown as string]), TypeError);
  assert.throws(() => tokenizer.decode([320, 49408]), /49408 \(at 1\) is not a token id/);
  await assert.rejects(() => ClipTokenizer.bundled({ padId: 60000 }), /padId 60000/);
});

Deno.test("decode keeps special tokens on request", async () => {
  const tokenizer = await ClipTokenizer.bundled({ padId: 0 });
  const ids = tokenizer.tokenize("It's a test!");
  assert.equal(tokenizer.decode(ids), "it 's a test");
  assert.equal(tokenizer.decode(ids, { skipSpecialTokens: false }), "it 's a test !");
  assert.equal(
    tokenizer.decode(tokenizer.encode("hi").ids, { skipSpecialTokens: false }).slice(0, 33),
    "<|startoftext|>hi <|endoftext|>!!",
  );
  assert.equal(tokenizer.idToToken(0), "!");
  assert.equal(tokenizer.tokenToId("cat</w>"), 2368);
});
