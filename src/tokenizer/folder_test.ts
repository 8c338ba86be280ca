import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipTokenizer } from "./clip_tokenizer.ts";
import { exportVocabulary } from "./export_vocabulary.ts";
import { vocabularyFromFiles } from "./vocabulary.ts";

const TINY_VOCAB = JSON.stringify({
  "h": 0,
  "i</w>": 1,
  "hi</w>": 2,
  "<|startoftext|>": 3,
  "<|endoftext|>": 4,
});
const TINY_MERGES = "#version: 0.2\nh i</w>\n";

async function withFolder(
  files: Record<string, string>,
  body: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "clip_folder_" });
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(join(dir, name), text);
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("fromFolder names the missing file", async () => {
  await withFolder({ "merges.txt": TINY_MERGES }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /vocab\.json not found/);
  });
  await withFolder({ "vocab.json": TINY_VOCAB }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /merges\.txt not found/);
  });
  await assert.rejects(() => ClipTokenizer.fromFolder("/nonexistent/tokenizer"), /vocab\.json not found/);
});

Deno.test("fromFolder reports malformed files with their path", async () => {
  await withFolder({ "vocab.json": "{not json", "merges.txt": TINY_MERGES }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /vocab\.json: malformed JSON/);
  });
  await withFolder({ "vocab.json": "[1, 2]", "merges.txt": TINY_MERGES }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /vocab\.json: expected a JSON object/);
  });
  await withFolder({ "vocab.json": '{"a": 0, "b": 0}', "merges.txt": "" }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /id 0 is given to both "a" and "b"/);
  });
  await withFolder({ "vocab.json": '{"a": "zero"}', "merges.txt": "" }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /id of "a" is "zero"/);
  });
  await withFolder({ "vocab.json": TINY_VOCAB, "merges.txt": "#version: 0.2\nh x\n" }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /merges\.txt line 2: merge "h x" makes "hx"/);
  });
  await withFolder({ "vocab.json": TINY_VOCAB, "merges.txt": "#version: 0.2\nh i</w> x\n" }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /merges\.txt line 2: expected "left right"/);
  });
  const files = { "vocab.json": TINY_VOCAB, "merges.txt": TINY_MERGES };
  await withFolder({ ...files, "tokenizer_config.json": "{" }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /tokenizer_config\.json: malformed JSON/);
  });
  await withFolder({ ...files, "special_tokens_map.json": '{"pad_token": 7}' }, async (dir) => {
    await assert.rejects(
      () => ClipTokenizer.fromFolder(dir),
      /special_tokens_map\.json: pad_token must be a string/,
    );
  });
  await withFolder({ ...files, "tokenizer_config.json": '{"model_max_length": "long"}' }, async (dir) => {
    await assert.rejects(() => ClipTokenizer.fromFolder(dir), /model_max_length must be a number/);
  });
});

Deno.test("fromFolder reads model_max_length and a tiny vocabulary", async () => {
  const files = {
    "vocab.json": TINY_VOCAB,
    "merges.txt": TINY_MERGES,
    "tokenizer_config.json": JSON.stringify({ model_max_length: 5, pad_token: "h" }),
  };
  await withFolder(files, async (dir) => {
    const tokenizer = await ClipTokenizer.fromFolder(dir);
    assert.deepEqual([tokenizer.bosId, tokenizer.eosId, tokenizer.padId, tokenizer.maxLength], [3, 4, 0, 5]);
    assert.deepEqual(Array.from(tokenizer.encode("HI").ids), [3, 2, 4, 0, 0]);
    // "h" is the (special) pad token here, so it is cut out of the text like "!" in SD 2.
    assert.deepEqual(tokenizer.tokenize("hi"), [0, 1]);
  });
  await withFolder({ ...files, "tokenizer_config.json": '{"model_max_length": 1e30}' }, async (dir) => {
    assert.equal((await ClipTokenizer.fromFolder(dir)).maxLength, 77);
  });
});

Deno.test("exportVocabulary never overwrites unless asked, and round-trips", async () => {
  const vocabulary = vocabularyFromFiles(TINY_VOCAB, TINY_MERGES);
  const dir = await Deno.makeTempDir({ prefix: "clip_export_" });
  try {
    await exportVocabulary(vocabulary, dir);
    await assert.rejects(() => exportVocabulary(vocabulary, dir), /vocab\.json already exists/);
    await exportVocabulary(vocabulary, dir, { overwrite: true });
    const again = vocabularyFromFiles(
      await Deno.readTextFile(join(dir, "vocab.json")),
      await Deno.readTextFile(join(dir, "merges.txt")),
    );
    assert.deepEqual(again.tokens, vocabulary.tokens);
    assert.deepEqual(again.merges, vocabulary.merges);
    assert.deepEqual([...Deno.readDirSync(dir)].map((entry) => entry.name).sort(), [
      "merges.txt",
      "vocab.json",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
