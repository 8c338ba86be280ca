import assert from "node:assert/strict";
import { join } from "node:path";
import { FAMILIES } from "../models/config.ts";
import { writeSyntheticCheckpoint } from "./synth.ts";
import { CheckpointError, loadCheckpoint } from "./checkpoint.ts";
import { SafetensorsFile, writeSafetensors } from "./safetensors.ts";
import type { TensorData } from "./safetensors.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "forget-ckpt-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const LAYERS = { sd15: 16, sd21: 16, sdxl: 70 };
const ENCODERS = { sd15: 1, sd21: 1, sdxl: 2 };

for (const family of FAMILIES) {
  Deno.test(`checkpoint ${family}: both layouts load, agree on family and on every UNet/VAE/CLIP-L tensor`, async () => {
    await withTemp(async (dir) => {
      const single = join(dir, "m.safetensors"), folder = join(dir, "m");
      await writeSyntheticCheckpoint(single, { family, seed: 3, dtype: "F32" });
      await writeSyntheticCheckpoint(folder, { family, seed: 3, dtype: "F32", layout: "diffusers" });
      const a = await loadCheckpoint(single), b = await loadCheckpoint(folder);
      for (const c of [a, b]) {
        assert.equal(c.family, family);
        assert.equal(c.crossAttention.length, LAYERS[family]);
        assert.equal(c.textEncoders.length, ENCODERS[family]);
        assert.equal(c.dtype, "F32");
        assert.deepEqual(c.warnings, []);
      }
      assert.equal(a.layout, "single");
      assert.equal(b.layout, "diffusers");
      assert.deepEqual(a.unet.names().sort(), b.unet.names().sort());
      for (const l of a.crossAttention) {
        assert.deepEqual(await a.unet.readFloat32(l.toK), await b.unet.readFloat32(l.toK), l.toK);
      }
      for (
        const n of [
          "encoder.mid_block.attentions.0.to_q.weight",
          "decoder.up_blocks.0.resnets.0.conv1.weight",
        ]
      ) {
        assert.deepEqual(await a.vae!.readFloat32(n), await b.vae!.readFloat32(n), n);
      }
      // CLIP-L is stored alike in both layouts (OpenCLIP towers are stored fused in single files).
      const te = "text_model.encoder.layers.3.self_attn.k_proj.weight";
      if (family !== "sd21") {
        assert.deepEqual(await a.textEncoders[0].readFloat32(te), await b.textEncoders[0].readFloat32(te));
      }
      a.close();
      b.close();
    });
  });
}

Deno.test("checkpoint: fp16 and bf16 single files load, EMA copies are reported and skipped", async () => {
  await withTemp(async (dir) => {
    const f16 = join(dir, "h.safetensors"), bf16 = join(dir, "b.safetensors");
    await writeSyntheticCheckpoint(f16, { family: "sd15", seed: 1, dtype: "F16", ema: true });
    await writeSyntheticCheckpoint(bf16, { family: "sd15", seed: 1, dtype: "BF16" });
    const a = await loadCheckpoint(f16), b = await loadCheckpoint(bf16);
    assert.equal(a.dtype, "F16");
    assert.equal(b.dtype, "BF16");
    assert.ok(a.hasEma);
    assert.match(a.warnings.join(), /EMA copies .* using the non-EMA weights/);
    // Same seed: the non-EMA weights in f16 and bf16 agree to bf16 precision, which EMA copies would not.
    const k = a.crossAttention[0].toK;
    const x = await a.unet.readFloat32(k), y = await b.unet.readFloat32(k);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(x[i] - y[i]) <= 0.01 * Math.abs(x[i]) + 1e-3);
    a.close();
    b.close();
  });
});

Deno.test("checkpoint: old SD 1.x text-encoder naming and transformers-5 folders load", async () => {
  await withTemp(async (dir) => {
    const src = join(dir, "m.safetensors");
    await writeSyntheticCheckpoint(src, { family: "sd15", seed: 2, dtype: "F32" });
    const f = await SafetensorsFile.open(src);
    const tensors: Record<string, TensorData> = {};
    for (const n of f.names()) {
      const raw = await f.readRaw(n);
      tensors[n.replace("cond_stage_model.transformer.text_model.", "cond_stage_model.transformer.")] = {
        dtype: raw.dtype,
        shape: raw.shape,
        data: raw.bytes,
      };
    }
    const legacy = join(dir, "legacy.safetensors");
    await writeSafetensors(legacy, tensors, f.metadata);
    const a = await loadCheckpoint(src), b = await loadCheckpoint(legacy);
    const n = "text_model.embeddings.token_embedding.weight";
    assert.deepEqual(await b.textEncoders[0].readFloat32(n), await a.textEncoders[0].readFloat32(n));
    f.close();
    a.close();
    b.close();
  });
});

Deno.test("checkpoint: what is not an SD checkpoint gets an error that says what was looked for", async () => {
  await withTemp(async (dir) => {
    const lora = join(dir, "lora.safetensors");
    await writeSafetensors(lora, {
      "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight": {
        dtype: "F32",
        shape: [1, 4],
        data: new Float32Array(4).fill(1),
      },
    });
    await assert.rejects(loadCheckpoint(lora), (e: Error) => {
      assert.ok(e instanceof CheckpointError);
      assert.match(e.message, /lora\.safetensors: not a Stable Diffusion checkpoint: looked for UNet keys/);
      assert.match(e.message, /looks like a LoRA patch/);
      return true;
    });
    await assert.rejects(
      loadCheckpoint(join(dir, "missing.safetensors")),
      /missing\.safetensors: no such file/,
    );
    await Deno.writeTextFile(join(dir, "old.ckpt"), "pickle");
    await assert.rejects(loadCheckpoint(join(dir, "old.ckpt")), /pickle checkpoints are not supported/);
    await Deno.mkdir(join(dir, "empty"));
    await assert.rejects(
      loadCheckpoint(join(dir, "empty")),
      /not a diffusers Stable Diffusion folder: looked for unet\/config\.json/,
    );
  });
});

Deno.test("checkpoint: a tensor of the wrong shape is named in the error", async () => {
  await withTemp(async (dir) => {
    const src = join(dir, "m.safetensors");
    await writeSyntheticCheckpoint(src, { family: "sd15", seed: 2, dtype: "F32" });
    const f = await SafetensorsFile.open(src);
    const tensors: Record<string, TensorData> = {};
    const key = "model.diffusion_model.output_blocks.3.1.transformer_blocks.0.attn2.to_v.weight";
    for (const n of f.names()) {
      const raw = await f.readRaw(n);
      tensors[n] = n === key
        ? {
          dtype: "F32",
          shape: [raw.shape[0], raw.shape[1] - 1],
          data: new Float32Array(raw.shape[0] * (raw.shape[1] - 1)),
        }
        : { dtype: raw.dtype, shape: raw.shape, data: raw.bytes };
    }
    f.close();
    const bad = join(dir, "bad.safetensors");
    await writeSafetensors(bad, tensors, f.metadata);
    await assert.rejects(
      loadCheckpoint(bad),
      /up_blocks\.1\.attentions\.0\.transformer_blocks\.0\.attn2\.to_v\.weight has shape/,
    );
  });
});

Deno.test("checkpoint: tokenizers come from the folder, or bundled with the family's padding", async () => {
  const { checkpointTokenizers } = await import("./tokenizers.ts");
  await withTemp(async (dir) => {
    for (const layout of ["single", "diffusers"] as const) {
      const path = join(dir, `xl-${layout}`);
      await writeSyntheticCheckpoint(path, { family: "sdxl", layout, seed: 1 });
      const ckpt = await loadCheckpoint(path);
      assert.equal(ckpt.tokenizerDirs.every((d) => (d !== null) === (layout === "diffusers")), true);
      const [a, b] = await checkpointTokenizers(ckpt);
      assert.deepEqual([a.padId, b.padId], [49407, 0]);
      assert.deepEqual([...a.encode("hello world").ids.slice(0, 5)], [49406, 3306, 1002, 49407, 49407]);
      assert.deepEqual([...b.encode("hello world").ids.slice(0, 5)], [49406, 3306, 1002, 49407, 0]);
      ckpt.close();
    }
  });
});
