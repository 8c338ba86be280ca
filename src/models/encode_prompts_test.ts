import { deepStrictEqual, match, ok, rejects } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { clipL14, openClipBigG14 } from "./clip_config.ts";
import { EmbeddingCache } from "./embedding_cache.ts";
import { encodePrompts, type PromptTokenizer } from "./encode_prompts.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/text_encoders/", import.meta.url));

/** Prompts "p0".."p3" stand for the fixture's recorded token rows; "p3" pretends 5 tokens were cut. */
function tableTokenizer(ids: Int32Array): PromptTokenizer {
  return {
    encode(text: string) {
      const row = Number(text.slice(1));
      return { ids: ids.slice(row * 77, (row + 1) * 77), length: 0, dropped: row === 3 ? 5 : 0 };
    },
  };
}

function tiny(json: string, preset: typeof clipL14) {
  const c = JSON.parse(json);
  return { ...preset(), ...c, name: `tiny-${preset().name}` };
}

Deno.test("encodePrompts: prompt order, duplicates, cache hits, truncation warning (SDXL fixture)", async () => {
  const ref = await SafetensorsFile.open(`${FIXTURES}sdxl_reference.safetensors`);
  const te1 = await SafetensorsFile.open(`${FIXTURES}sdxl_text_encoder.safetensors`);
  const te2 = await SafetensorsFile.open(`${FIXTURES}sdxl_text_encoder_2.safetensors`);
  try {
    const raw = await ref.readRaw("input_ids");
    const ids = new Int32Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 4);
    const tok = tableTokenizer(ids);
    const model = {
      family: "sdxl" as const,
      encoders: [te1, te2],
      configs: [tiny(ref.metadata.config, clipL14), tiny(ref.metadata.config_2, openClipBigG14)],
      tokenizers: [tok, tok],
      hash: "sdxl-fixture-prompts",
    };
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
  } finally {
    [ref, te1, te2].forEach((f) => f.close());
  }
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
