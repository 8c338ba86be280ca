import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { crossAttentionHash } from "../formats/hash.ts";
import { FAMILIES } from "../models/config.ts";
import { lowRankDelta } from "./edit.ts";
import { readLoraPatch, writeLoraPatch } from "./lora_file.ts";
import { writeMergedCheckpoint } from "./merge.ts";
import { Random } from "../sample/random.ts";
import { randomEdit } from "./random_edit.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "forget-patch-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

for (const family of FAMILIES) {
  for (const layout of ["single", "diffusers"] as const) {
    Deno.test(`patch ${family} ${layout}: LoRA round trip, and merged = base + up·down·alpha/r`, async () => {
      await withTemp(async (dir) => {
        const base = join(dir, layout === "single" ? "base.safetensors" : "base");
        await writeSyntheticCheckpoint(base, { family, layout, dtype: "F32", seed: 11 });
        const ckpt = await loadCheckpoint(base);
        const edit = await randomEdit(ckpt, 5);
        const patch = join(dir, "patch.safetensors");
        await writeLoraPatch(patch, edit, ckpt);
        const back = await readLoraPatch(patch, ckpt);
        assert.equal(back.deltas.length, edit.deltas.length);
        assert.deepEqual(back.provenance, edit.provenance);
        const merged = join(dir, layout === "single" ? "merged.safetensors" : "merged");
        await writeMergedCheckpoint(ckpt, back, merged);
        const m = await loadCheckpoint(merged);
        assert.equal(m.layout, layout);
        assert.equal(m.dtype, "F32");
        // The merge rule every loader uses (kohya, ComfyUI, A1111, diffusers): W + (up @ down) * alpha / rank,
        // computed here straight from the patch file's tensors.
        const lora = await SafetensorsFile.open(patch);
        let checked = 0;
        for (const name of lora.names().filter((n) => n.endsWith(".lora_up.weight"))) {
          const stem = name.slice(0, -".lora_up.weight".length);
          const up = await lora.readFloat32(name), down = await lora.readFloat32(`${stem}.lora_down.weight`);
          const [out, r] = lora.info(name).shape, inDim = lora.info(`${stem}.lora_down.weight`).shape[1];
          const alpha = (await lora.readFloat32(`${stem}.alpha`))[0];
          const module = back.deltas.find((d) => d.up.length === up.length && d.up[0] === up[0])!.module;
          const w0 = await ckpt.unet.readFloat32(`${module}.weight`),
            w1 = await m.unet.readFloat32(`${module}.weight`);
          let maxDiff = 0, maxW = 0;
          for (let i = 0; i < out; i++) {
            for (let j = 0; j < inDim; j++) {
              let s = 0;
              for (let c = 0; c < r; c++) s += up[i * r + c] * down[c * inDim + j];
              maxDiff = Math.max(maxDiff, Math.abs(w0[i * inDim + j] + s * alpha / r - w1[i * inDim + j]));
              maxW = Math.max(maxW, Math.abs(w1[i * inDim + j]));
            }
          }
          assert.ok(maxDiff <= 1e-5 * maxW, `${module}: ${maxDiff}`);
          checked++;
        }
        assert.equal(checked, edit.deltas.length);
        // Everything else is untouched.
        const other = "conv_in.weight";
        assert.deepEqual(await m.unet.readFloat32(other), await ckpt.unet.readFloat32(other));
        lora.close();
        m.close();
        ckpt.close();
      });
    });
  }
}

Deno.test("patch: SDXL modules are named by LDM path, SD 1.x by diffusers path, with kohya metadata", async () => {
  await withTemp(async (dir) => {
    for (const family of ["sd15", "sdxl"] as const) {
      const base = join(dir, `${family}.safetensors`);
      await writeSyntheticCheckpoint(base, { family, seed: 1 });
      const ckpt = await loadCheckpoint(base);
      const patch = join(dir, `${family}-patch.safetensors`);
      await writeLoraPatch(patch, await randomEdit(ckpt, 2), ckpt);
      const f = await SafetensorsFile.open(patch);
      const first = f.names().find((n) => n.endsWith("lora_up.weight"))!;
      assert.match(
        first,
        family === "sdxl"
          ? /^lora_unet_(input|output)_blocks_\d+_1_|^lora_unet_middle_block_1_/
          : /^lora_unet_(down|up|mid)_block/,
      );
      assert.equal(f.metadata.ss_network_module, "networks.lora");
      assert.equal(f.metadata.ss_base_model_version, family === "sdxl" ? "sdxl_base_v1-0" : "sd_v1");
      assert.ok(f.names().every((n) => n.startsWith("lora_unet_")));
      f.close();
      ckpt.close();
    }
  });
});

Deno.test("patch: a patch for another architecture, and an output equal to the input, are refused", async () => {
  await withTemp(async (dir) => {
    const sd15 = join(dir, "a.safetensors"), sdxl = join(dir, "b.safetensors");
    await writeSyntheticCheckpoint(sd15, { family: "sd15", seed: 1 });
    await writeSyntheticCheckpoint(sdxl, { family: "sdxl", seed: 1 });
    const a = await loadCheckpoint(sd15), b = await loadCheckpoint(sdxl);
    const patch = join(dir, "p.safetensors");
    await writeLoraPatch(patch, await randomEdit(a, 1), a);
    await assert.rejects(readLoraPatch(patch, b), /LoRA modules do not exist in this sdxl model/);
    const edit = await readLoraPatch(patch, a);
    await assert.rejects(writeMergedCheckpoint(a, edit, sd15), /output path is the input checkpoint/);
    await assert.rejects(writeMergedCheckpoint(a, edit, sdxl), /already exists/);
    a.close();
    b.close();
  });
});

Deno.test("patch: truncated rank reports its relative error", () => {
  const rng = new Random(3, "trunc");
  const m = 20, k = 6, n = 12;
  const p = Float64Array.from({ length: m * k }, () => rng.normal());
  const r = Float64Array.from({ length: k * n }, () => rng.normal());
  const exact = lowRankDelta("x", p, r, m, k, n);
  const cut = lowRankDelta("x", p, r, m, k, n, 3);
  assert.equal(exact.rank, 6);
  assert.ok(exact.relativeError === 0);
  assert.equal(cut.rank, 3);
  assert.ok(cut.relativeError > 0.05 && cut.relativeError < 1);
});

Deno.test("hash: the same weights in either layout and precision hash alike", async () => {
  await withTemp(async (dir) => {
    const hashes: string[] = [];
    for (
      const [name, layout, dtype] of [["a.safetensors", "single", "F32"], ["b", "diffusers", "F16"]] as const
    ) {
      await writeSyntheticCheckpoint(join(dir, name), { family: "sd15", layout, dtype, seed: 4 });
      const c = await loadCheckpoint(join(dir, name));
      hashes.push(await crossAttentionHash(c));
      c.close();
    }
    assert.equal(hashes[0], hashes[1]);
    assert.match(hashes[0], /^sha256:[0-9a-f]{64}$/);
  });
});
