import { deepStrictEqual, match, ok, rejects } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { clipL14, openClipBigG14 } from "./clip_config.ts";
import { EmbeddingCache } from "./embedding_cache.ts";
import {
  encodePromptPrefixes,
  encodePrompts,
  type PromptEncoderModel,
  type PromptTokenizer,
} from "./encode_prompts.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/text_encoders/", import.meta.url));

/** The fixture's prompts hold 0, 3, 20 and 75 word tokens between BOS and EOS. */
const LENGTHS = [2, 5, 22, 77];

/** Prompts "p0".."p3" stand for the fixture's recorded token rows; "p3" pretends 5 tokens were cut. */
function tableTokenizer(ids: Int32Array): PromptTokenizer {
  return {
    encode(text: string) {
      const row = Number(text.slice(1));
      return { ids: ids.slice(row * 77, (row + 1) * 77), length: LENGTHS[row], dropped: row === 3 ? 5 : 0 };
    },
  };
}

function tiny(json: string, preset: typeof clipL14) {
  const c = JSON.parse(json);
  return { ...preset(), ...c, name: `tiny-${preset().name}` };
}

/** Runs `fn` on the tiny SDXL fixture's encoders (with the table tokenizer) and its reference file. */
async function withSdxlFixture(
  hash: string,
  fn: (model: PromptEncoderModel, ref: SafetensorsFile) => Promise<void>,
): Promise<void> {
  const ref = await SafetensorsFile.open(`${FIXTURES}sdxl_reference.safetensors`);
  const te1 = await SafetensorsFile.open(`${FIXTURES}sdxl_text_encoder.safetensors`);
  const te2 = await SafetensorsFile.open(`${FIXTURES}sdxl_text_encoder_2.safetensors`);
  try {
    const raw = await ref.readRaw("input_ids");
    const tok = tableTokenizer(
      new Int32Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 4),
    );
    await fn({
      family: "sdxl",
      encoders: [te1, te2],
      configs: [tiny(ref.metadata.config, clipL14), tiny(ref.metadata.config_2, openClipBigG14)],
      tokenizers: [tok, tok],
      hash,
    }, ref);
  } finally {
    [ref, te1, te2].forEach((f) => f.close());
  }
}

Deno.test("encodePrompts: prompt order, duplicates, cache hits, truncation warning (SDXL fixture)", async () => {
  await withSdxlFixture("sdxl-fixture-prompts", async (model, ref) => {
    const hidden = await ref.readFloat32("hidden_states");
    const pooled = await ref.readFloat32("pooled");
    const [w, pw] = [80, 40];
    const cache = new EmbeddingCache();
    const warnings: string[] = [];
    const order = [2, 0, 2, 3];
    const out = await encodePrompts(model, order.map((r) => `p${r}`), {
      cache,
      warn: (m) => warnings.push(m),
    });
    deepStrictEqual([out.count, out.sequence, out.width, out.pooledWidth], [4, 77, w, pw]);
    order.forEach((r, i) => {
      const got = out.hiddenStates.subarray(i * 77 * w, (i + 1) * 77 * w);
      const want = hidden.subarray(r * 77 * w, (r + 1) * 77 * w);
      ok(got.every((v, j) => Math.abs(v - want[j]) <= 1e-4), `prompt ${i + 1}: hidden states`);
      const gp = out.pooled!.subarray(i * pw, (i + 1) * pw);
      ok(gp.every((v, j) => Math.abs(v - pooled[r * pw + j]) <= 1e-4), `prompt ${i + 1}: pooled`);
    });
    deepStrictEqual(warnings.length, 1);
    match(warnings[0], /prompt 4 "p3" is longer than the 77-token context: 5 tokens dropped/);
    deepStrictEqual(cache.stats().entries, 3); // "p2" was encoded once

    const again = await encodePrompts(model, ["p0", "p1"], { cache, warn: (m) => warnings.push(m) });
    deepStrictEqual(cache.stats().hits, 1); // "p0" came from the cache
    deepStrictEqual(cache.stats().entries, 4);
    deepStrictEqual(again.hiddenStates.subarray(0, 77 * w), out.hiddenStates.subarray(77 * w, 2 * 77 * w));
  });
});

Deno.test("encodePromptPrefixes: rows through the last word token, cached apart from full encodings (SDXL)", async () => {
  await withSdxlFixture("sdxl-fixture-prefixes", async (model, ref) => {
    const hidden = await ref.readFloat32("hidden_states");
    const w = 80;
    const cache = new EmbeddingCache();
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    const order = [1, 3, 0, 1, 2];
    const out = await encodePromptPrefixes(model, order.map((r) => `p${r}`), { cache, warn });
    deepStrictEqual([out.count, out.width], [5, w]);
    order.forEach((r, i) => {
      const p = out.prompts[i];
      const rows = Math.max(1, LENGTHS[r] - 1); // BOS through the last word token
      deepStrictEqual([p.length, p.rows, p.hiddenStates.length], [LENGTHS[r], rows, rows * w]);
      const want = hidden.subarray(r * 77 * w, (r * 77 + rows) * w);
      ok(p.hiddenStates.every((v, j) => Math.abs(v - want[j]) <= 1e-4), `prompt ${i + 1}: rows`);
    });
    ok(out.prompts[0].hiddenStates !== out.prompts[3].hiddenStates, "a repeated prompt gets its own copy");
    deepStrictEqual(warnings.length, 1);
    match(warnings[0], /prompt 2 "p3" is longer than the 77-token context: 5 tokens dropped/);
    deepStrictEqual([cache.stats().entries, cache.stats().hits], [4, 0]);

    // A prefix entry never answers a full request; the full rows start with the prefix rows.
    const full = await encodePrompts(model, ["p2"], { cache, warn });
    deepStrictEqual([cache.stats().entries, cache.stats().hits], [5, 0]);
    const prefix = out.prompts[4].hiddenStates;
    ok(prefix.every((v, j) => Math.abs(v - full.hiddenStates[j]) <= 1e-5), "prefix = first rows of full");
    ok(full.pooled && full.hiddenStates.length === 77 * w);

    // A full entry answers a prefix request.
    const fresh = new EmbeddingCache();
    const whole = await encodePrompts(model, ["p1"], { cache: fresh, warn });
    const again = await encodePromptPrefixes(model, ["p1"], { cache: fresh, warn });
    deepStrictEqual([fresh.stats().entries, fresh.stats().hits], [1, 1]);
    deepStrictEqual(again.prompts[0].hiddenStates, whole.hiddenStates.slice(0, 4 * w));
  });
});

Deno.test("encodePrompts: empty list and non-text prompts get clear errors", async () => {
  const model = { family: "sd15" as const, encoders: [], tokenizers: [] };
  await rejects(encodePrompts(model, []), /no prompts given/);
  await rejects(encodePrompts(model, ["ok", 42]), /prompt 2 is number, not text/);
  await rejects(encodePrompts(model, [null]), /prompt 1 is null, not text/);
  await rejects(encodePrompts(model, ["a cat"]), /sd15 needs 1 text encoder, the checkpoint provides 0/);
});

Deno.test("EmbeddingCache: evicts the least recently used entries past its byte budget", () => {
  const cache = new EmbeddingCache(3 * 400);
  const e = () => ({ hiddenStates: new Float32Array(100) });
  cache.set("m", "enc", "a", e());
  cache.set("m", "enc", "b", e());
  cache.set("m", "enc", "c", e());
  ok(cache.get("m", "enc", "a")); // a is now the most recent
  cache.set("m", "enc", "d", e());
  deepStrictEqual(cache.get("m", "enc", "b"), undefined);
  ok(cache.get("m", "enc", "a") && cache.get("m", "enc", "d"));
  deepStrictEqual(cache.get("other-model", "enc", "a"), undefined);
  deepStrictEqual(cache.stats().bytes, 1200);
});
