import { deepStrictEqual, match, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { promptEncoderModel } from "../models/checkpoint_encoders.ts";
import { EmbeddingCache } from "../models/embedding_cache.ts";
import { encodePrompts } from "../models/encode_prompts.ts";
import type { TextEmbeddings } from "../models/text_encoders.ts";
import { encodeCommand } from "./encode.ts";
import { CliError } from "./errors.ts";

async function quietly<T>(f: () => Promise<T>): Promise<T> {
  const [log, warn] = [console.log, console.warn];
  console.log = console.warn = () => {};
  try {
    return await f();
  } finally {
    [console.log, console.warn] = [log, warn];
  }
}

Deno.test("encode: writes hidden_states and pooled in prompt order (tiny synthetic SDXL)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(dir, "sdxl.safetensors");
    await writeSyntheticCheckpoint(model, { family: "sdxl", size: "tiny", seed: 3 });
    const out = join(dir, "emb.safetensors");
    const prompts = ["a cat", "", "a dog", "a cat"];
    const code = await quietly(() =>
      encodeCommand([
        "--model",
        model,
        ...prompts.flatMap((p) => ["--prompt", p]),
        "--out",
        out,
        "--backend",
        "ort-node",
      ])
    );
    deepStrictEqual(code, 0);
    const f = await SafetensorsFile.open(out);
    try {
      deepStrictEqual(f.info("hidden_states"), { dtype: "F32", shape: [4, 77, 40] });
      deepStrictEqual(f.info("pooled"), { dtype: "F32", shape: [4, 24] });
      deepStrictEqual(JSON.parse(f.metadata["forget.prompts"]), prompts);
      const h = await f.readFloat32("hidden_states");
      const row = 77 * 40;
      deepStrictEqual(h.subarray(0, row), h.subarray(3 * row, 4 * row)); // the repeated prompt
      ok(h.subarray(0, row).some((v, i) => v !== h[2 * row + i])); // different prompts differ
      // The same numbers as the library call on the loaded checkpoint.
      const ckpt = await loadCheckpoint(model);
      try {
        const lib = await encodePrompts(await promptEncoderModel(ckpt), prompts, {
          backend: "ort-node",
          cache: null,
        });
        let err = 0;
        lib.hiddenStates.forEach((v, i) => err = Math.max(err, Math.abs(v - h[i])));
        ok(err === 0, `CLI and library differ by ${err}`);
      } finally {
        ckpt.close();
      }
    } finally {
      f.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encode: single-file and diffusers layouts of one SD 1.5 model give the same embeddings", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const single = join(dir, "sd15.safetensors");
    const folder = join(dir, "sd15");
    await writeSyntheticCheckpoint(single, { family: "sd15", size: "tiny", seed: 5, dtype: "F32" });
    await writeSyntheticCheckpoint(folder, {
      family: "sd15",
      size: "tiny",
      seed: 5,
      dtype: "F32",
      layout: "diffusers",
    });
    const results: TextEmbeddings[] = [];
    for (const path of [single, folder]) {
      const ckpt = await loadCheckpoint(path);
      try {
        const model = await promptEncoderModel(ckpt);
        results.push(
          await encodePrompts(model, ["a photo of an astronaut", ""], { cache: new EmbeddingCache() }),
        );
      } finally {
        ckpt.close();
      }
    }
    deepStrictEqual(results[0].width, 16);
    let err = 0;
    results[0].hiddenStates.forEach((v, i) => err = Math.max(err, Math.abs(v - results[1].hiddenStates[i])));
    ok(err <= 1e-6, `layouts differ by ${err}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encode: bad arguments and a checkpoint without the encoder get clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const model = join(dir, "sd21.safetensors");
    await writeSyntheticCheckpoint(model, { family: "sd21", size: "tiny" });
    const out = join(dir, "o.safetensors");
    await rejects(encodeCommand(["--model", model, "--out", out]), (e: Error) => {
      ok(e instanceof CliError);
      match(e.message, /no prompts given/);
      return true;
    });
    await rejects(
      encodeCommand(["--model", model, "--prompt", "x", "--out", model]),
      /would overwrite the model/,
    );
    await rejects(
      encodeCommand(["--model", model, "--prompt", "x", "--out", out, "--backend", "gpu"]),
      /unknown backend "gpu"/,
    );
    await rejects(
      encodeCommand(["--model", model, "--prompt", "x", "--out", join(dir, "o.npy")]),
      /must be a \.safetensors/,
    );
    const ckpt = await loadCheckpoint(model);
    try {
      await rejects(
        promptEncoderModel({ ...ckpt, textEncoders: [] }),
        /sd21 needs 1 text encoder, the checkpoint holds 0/,
      );
    } finally {
      ckpt.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
