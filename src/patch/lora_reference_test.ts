/**
 * Our patches in diffusers: tests/reference/lora_fixtures.py loaded the same patch into diffusers
 * (`load_lora_weights` + `fuse_lora`, its kohya converter) and saved the fused cross-attention weights.
 * Our merge of the same patch must give the same weights.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { loraCase } from "./lora_case.ts";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { readLoraPatch } from "./lora_file.ts";
import { applyEdit } from "./merge.ts";

for (const family of ["sd15", "sdxl"] as const) {
  Deno.test(`lora reference ${family}: diffusers' fused weights equal our merge`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      await loraCase(family, join(dir, "model"), join(dir, "patch.safetensors"));
      const ckpt = await loadCheckpoint(join(dir, "model"));
      const merged = await applyEdit(ckpt.unet, await readLoraPatch(join(dir, "patch.safetensors"), ckpt));
      const fused = await SafetensorsFile.open(
        new URL(`../../tests/fixtures/patch/${family}_fused.safetensors`, import.meta.url).pathname,
      );
      assert.equal(fused.names().length, ckpt.crossAttention.length * 2);
      for (const name of fused.names()) {
        const ref = await fused.readFloat32(name), ours = merged.get(name)!;
        assert.ok(ours, `${name} not edited by our merge`);
        let maxDiff = 0, maxRef = 0;
        for (let i = 0; i < ref.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(ref[i] - ours[i]));
          maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        assert.ok(maxDiff <= 1e-5 * maxRef, `${name}: max diff ${maxDiff}`);
      }
      fused.close();
      ckpt.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
