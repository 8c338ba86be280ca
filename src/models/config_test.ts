import assert from "node:assert/strict";
import { FAMILIES, presetConfig } from "./config.ts";
import { unetWeights } from "./unet_weights.ts";
import { vaeWeights } from "./vae_weights.ts";
import { clipTextWeights } from "./clip_weights.ts";
import { crossAttentionLayers } from "../formats/cross_attention.ts";

const params = (specs: { shape: number[] }[]) =>
  specs.reduce((a, s) => a + s.shape.reduce((p, d) => p * d, 1), 0);

// Parameter counts of the released models (diffusers' model cards and `num_parameters()`), and the
// to_k + to_v totals of the reference notes (formats_and_ecosystem.md, A2.5).
const KNOWN = {
  sd15: { unet: 859_520_964, te: [123_060_480], kv: 19_169_280, layers: 16 },
  sd21: { unet: 865_910_724, te: [340_387_840], kv: 25_559_040, layers: 16 },
  sdxl: { unet: 2_567_463_684, te: [123_060_480, 694_659_840], kv: 340_787_200, layers: 70 },
};

for (const family of FAMILIES) {
  Deno.test(`config ${family}: full-size parameter counts match the released model`, () => {
    const cfg = presetConfig(family);
    const k = KNOWN[family];
    assert.equal(params(unetWeights(cfg.unet)), k.unet);
    assert.equal(params(vaeWeights(cfg.vae)), 83_653_863);
    assert.deepEqual(cfg.textEncoders.map((t) => params(clipTextWeights(t))), k.te);
    const layers = crossAttentionLayers(cfg.unet);
    assert.equal(layers.length, k.layers);
    assert.equal(layers.reduce((a, l) => a + 2 * l.channels * l.contextDim, 0), k.kv);
  });
}

Deno.test("config sd15: the 16 cross-attention layers and their to_k shapes (reference table A2.1)", () => {
  const specs = new Map(unetWeights(presetConfig("sd15").unet).map((s) => [s.name, s.shape]));
  const layers = crossAttentionLayers(presetConfig("sd15").unet);
  const expected = [320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320];
  assert.deepEqual(layers.map((l) => specs.get(l.toK)), expected.map((c) => [c, 768]));
  assert.deepEqual(layers.map((l) => l.heads), Array(16).fill(8));
  assert.equal(layers[6].module, "mid_block.attentions.0.transformer_blocks.0.attn2");
});

Deno.test("config sd21 and sdxl: heads are 64 wide", () => {
  for (const f of ["sd21", "sdxl"] as const) {
    for (const l of crossAttentionLayers(presetConfig(f).unet)) assert.equal(l.channels / l.heads, 64);
  }
});

Deno.test("config tiny presets keep every key of the full model", () => {
  for (const family of FAMILIES) {
    const full = presetConfig(family), tiny = presetConfig(family, "tiny");
    assert.deepEqual(unetWeights(tiny.unet).map((s) => s.name), unetWeights(full.unet).map((s) => s.name));
    assert.deepEqual(vaeWeights(tiny.vae).map((s) => s.name), vaeWeights(full.vae).map((s) => s.name));
    tiny.textEncoders.forEach((t, i) =>
      assert.deepEqual(
        clipTextWeights(t).map((s) => s.name),
        clipTextWeights(full.textEncoders[i]).map((s) => s.name),
      )
    );
  }
});

Deno.test("config: unknown family is a clear error", () => {
  assert.throws(() => presetConfig("sd3" as never), /unknown model family "sd3"/);
});
