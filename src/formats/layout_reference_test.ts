/**
 * Our layout tables against diffusers and transformers: the fixture written by
 * tests/reference/layout_fixtures.py records, for tiny synthetic checkpoints of each family, the reference
 * models' own key names and shapes and, for each diffusers tensor, which single-file key diffusers'
 * single-file converters took it from.
 */
import assert from "node:assert/strict";
import { gunzipSync, strFromU8 } from "fflate";
import { join } from "node:path";
import { FAMILIES, presetConfig } from "../models/config.ts";
import { unetWeights } from "../models/unet_weights.ts";
import { vaeWeights } from "../models/vae_weights.ts";
import { clipTextWeights } from "../models/clip_weights.ts";
import { writeSyntheticCheckpoint } from "./synth.ts";
import { loadCheckpoint } from "./checkpoint.ts";
import { SafetensorsFile } from "./safetensors.ts";

interface Fixture {
  family: string;
  components: Record<
    string,
    { shapes: [string, number[]][]; from_single_file: Record<string, [string, string]> }
  >;
}

async function fixture(family: string): Promise<Fixture> {
  const gz = await Deno.readFile(
    new URL(`../../tests/fixtures/layout/${family}_tiny.json.gz`, import.meta.url),
  );
  return JSON.parse(strFromU8(gunzipSync(gz)));
}

function applyOp(values: Float32Array, shape: number[], op: string): Float32Array {
  if (op === "same") return values;
  if (op === "transpose") {
    const [r, c] = shape, out = new Float32Array(values.length);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = values[i * c + j];
    return out;
  }
  const [, start, count] = op.split(":").map(Number);
  const row = shape.slice(1).reduce((a, b) => a * b, 1);
  return values.slice(start * row, (start + count) * row);
}

for (const family of FAMILIES) {
  Deno.test(`layout ${family}: our key names and shapes are the reference models'`, async () => {
    const fx = await fixture(family);
    const cfg = presetConfig(family, "tiny");
    const ours: Record<string, [string, number[]][]> = {
      unet: unetWeights(cfg.unet).map((s) => [s.name, s.shape]),
      vae: vaeWeights(cfg.vae).map((s) => [s.name, s.shape]),
      text_encoder: clipTextWeights(cfg.textEncoders[0]).map((s) => [s.name, s.shape]),
    };
    if (cfg.textEncoders[1]) {
      ours.text_encoder_2 = clipTextWeights(cfg.textEncoders[1]).map((s) => [s.name, s.shape]);
    }
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(fx.components).sort());
    for (const [c, specs] of Object.entries(ours)) {
      const sorted = [...specs].sort((a, b) => (a[0] < b[0] ? -1 : 1));
      assert.deepEqual(sorted, fx.components[c].shapes, `${family} ${c}`);
    }
  });

  Deno.test(`layout ${family}: single-file names map as diffusers' converters map them`, async () => {
    const fx = await fixture(family);
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "m.safetensors");
      await writeSyntheticCheckpoint(path, { family, size: "tiny", dtype: "F32", seed: 7 });
      const ckpt = await loadCheckpoint(path);
      const raw = await SafetensorsFile.open(path);
      const sources: Record<string, typeof ckpt.unet> = {
        unet: ckpt.unet,
        vae: ckpt.vae!,
        text_encoder: ckpt.textEncoders[0],
      };
      if (ckpt.textEncoders[1]) sources.text_encoder_2 = ckpt.textEncoders[1];
      let checked = 0;
      for (const [c, { from_single_file }] of Object.entries(fx.components)) {
        for (const [name, [ldmKey, op]] of Object.entries(from_single_file)) {
          const expected = applyOp(await raw.readFloat32(ldmKey), raw.info(ldmKey).shape, op);
          const got = await sources[c].readFloat32(name);
          assert.deepEqual(got, expected, `${family} ${c} ${name} should come from ${ldmKey} (${op})`);
          checked++;
        }
      }
      assert.ok(checked > 1000);
      raw.close();
      ckpt.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
