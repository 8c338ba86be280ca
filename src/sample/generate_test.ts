import { deepStrictEqual, notDeepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { presetConfig } from "../models/config.ts";
import { createUNetRunner } from "../models/unet_runner.ts";
import { randomEdit } from "../patch/random_edit.ts";
import { writeLoraPatch } from "../patch/lora_file.ts";
import { generateImages, generateSettings } from "./generate.ts";
import { loadPatchWeights } from "./patch_weights.ts";
import { randn } from "./random.ts";
import { loadModel } from "../api/model.ts";

async function tinyModels(): Promise<{ dir: string; base: string; other: string }> {
  const dir = await Deno.makeTempDir({ prefix: "forget-generate-" });
  const base = `${dir}/base`, other = `${dir}/other`;
  await writeSyntheticCheckpoint(base, {
    family: "sd15",
    size: "tiny",
    layout: "diffusers",
    dtype: "F32",
    seed: 1,
  });
  await writeSyntheticCheckpoint(other, {
    family: "sd15",
    size: "tiny",
    layout: "diffusers",
    dtype: "F32",
    seed: 2,
  });
  return { dir, base, other };
}

Deno.test("generate: seeded, batched over prompts and seeds, patches swap in one session", async () => {
  const { dir, base, other } = await tinyModels();
  const ckpt = await loadCheckpoint(base);
  try {
    const opts = { prompts: ["a cat", "a dog"], seeds: [3, 4], steps: 2, guidance: 5, width: 64, height: 64 };
    const images = await generateImages(ckpt, opts);
    deepStrictEqual(images.map((i) => [i.prompt, i.seed]), [["a cat", 3], ["a cat", 4], ["a dog", 3], [
      "a dog",
      4,
    ]]);
    for (const im of images) {
      deepStrictEqual([im.image.width, im.image.height, im.image.channels], [64, 64, 3]);
    }
    notDeepStrictEqual(images[0].image.data, images[1].image.data, "seeds differ");
    notDeepStrictEqual(images[0].image.data, images[2].image.data, "prompts differ");
    const again = await generateImages(ckpt, { ...opts, prompts: ["a cat"], seeds: [3] });
    deepStrictEqual(again[0].image.data, images[0].image.data, "same seed, same image");
    const [withMaps] = await generateImages(ckpt, {
      ...opts,
      prompts: ["a photo of a cat"],
      seeds: [3],
      attention: { words: ["cat", "photo"] },
    });
    deepStrictEqual(withMaps.attention?.map((a) => [a.label, a.map.height, a.map.width]), [["cat", 8, 8], [
      "photo",
      8,
      8,
    ]]);
    for (const a of withMaps.attention!) {
      ok(Array.from(a.map.values).every((v) => v > 0 && v < 1), "probabilities");
    }
    await rejects(
      generateImages(ckpt, { ...opts, prompts: ["a dog"], seeds: [3], attention: { words: ["cat"] } }),
      /does not contain "cat"/,
    );
    // v-prediction (SD 2.x 768 models): from the option, or from the folder's scheduler config.
    const one = { ...opts, prompts: ["a cat"], seeds: [3] };
    const [v] = await generateImages(ckpt, { ...one, prediction: "v_prediction" });
    notDeepStrictEqual(v.image.data, images[0].image.data, "v-prediction samples differently");
    const schedulerConfig = `${base}/scheduler/scheduler_config.json`;
    const json = JSON.parse(await Deno.readTextFile(schedulerConfig));
    await Deno.writeTextFile(schedulerConfig, JSON.stringify({ ...json, prediction_type: "v_prediction" }));
    deepStrictEqual(
      (await generateImages(ckpt, one))[0].image.data,
      v.image.data,
      "the folder's prediction type",
    );
    await Deno.writeTextFile(schedulerConfig, JSON.stringify(json));
    const model = await loadModel(base, { cacheDir: null });
    const [viaApi] = await model.generate("a cat", {
      seeds: [3],
      steps: 2,
      guidance: 5,
      width: 64,
      height: 64,
    });
    model.close();
    deepStrictEqual(viaApi.image.data, images[0].image.data, "model.generate gives the same image");

    // The noise streams: torch (the default) and the portable one give different images.
    const [portable] = await generateImages(ckpt, { ...one, noise: "portable" });
    const [torch] = await generateImages(ckpt, { ...one, noise: "torch" });
    deepStrictEqual(torch.image.data, images[0].image.data, "torch noise is the default");
    notDeepStrictEqual(portable.image.data, torch.image.data, "portable noise is another stream");

    // A patch: the swappable session (weights fed as inputs) and a session built with them agree. It changes
    // to_q as well as to_k/to_v, as Forget-Me-Not's patches do (a swappable session once fed only to_k/to_v).
    const patchPath = `${dir}/patch.safetensors`;
    await writeLoraPatch(patchPath, await randomEdit(ckpt, 2, 5, ["to_q", "to_k", "to_v"]), ckpt);
    const patch = await loadPatchWeights(ckpt, patchPath);
    const inputs = {
      batch: 2,
      sample: randn(2 * 4 * 8 * 8, 1, "x"),
      timestep: 500,
      context: randn(2 * 77 * 16, 1, "c"),
    };
    const swappable = createUNetRunner(ckpt, { height: 8, width: 8, swappable: true });
    const baked = createUNetRunner(ckpt, { height: 8, width: 8 });
    const baseOut = (await swappable.run(inputs)).output;
    deepStrictEqual(Array.from(baseOut), Array.from((await baked.run(inputs)).output));
    swappable.setPatch(patch);
    baked.setPatch(patch);
    const a = (await swappable.run(inputs)).output, b = (await baked.run(inputs)).output;
    let diff = 0, moved = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      moved = Math.max(moved, Math.abs(a[i] - baseOut[i]));
    }
    ok(diff <= 1e-5, `patched outputs agree (${diff})`);
    ok(moved > 1e-3, `the patch changes the output (${moved})`);
    swappable.setPatch(null);
    deepStrictEqual(Array.from((await swappable.run(inputs)).output), Array.from(baseOut));
    // A weight a swappable session cannot feed is refused, never silently left at the base's value.
    throws(
      () => swappable.setPatch({ key: "conv", weights: new Map([["conv_in.weight", new Float32Array(1)]]) }),
      /"conv_in.weight" is not a cross-attention to_q\/to_k\/to_v weight/,
    );

    const patched = await generateImages(ckpt, {
      ...opts,
      prompts: ["a cat"],
      seeds: [3],
      patch,
      swappable: true,
    });
    notDeepStrictEqual(patched[0].image.data, images[0].image.data, "the patch changes the image");

    // A patch made for another base model is refused.
    const otherCkpt = await loadCheckpoint(other);
    try {
      await rejects(loadPatchWeights(otherCkpt, patchPath), /made for another base model/);
      ok((await loadPatchWeights(otherCkpt, patchPath, { force: true })).weights.size > 0);
    } finally {
      otherCkpt.close();
    }
  } finally {
    ckpt.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generate: bad settings are refused with the setting named", () => {
  const cfg = presetConfig("sd15", "tiny");
  const ok1 = generateSettings(cfg, { prompts: ["x"] });
  deepStrictEqual([ok1.width, ok1.height, ok1.steps, ok1.guidance], [64, 64, 30, 7.5]);
  throws(() => generateSettings(cfg, { prompts: [] }), /at least one prompt/);
  throws(
    () => generateSettings(cfg, { prompts: ["x"], width: 100 }),
    /width must be a positive multiple of 8/,
  );
  throws(
    () => generateSettings(cfg, { prompts: ["x"], height: -8 }),
    /height must be a positive multiple of 8/,
  );
  throws(() => generateSettings(cfg, { prompts: ["x"], steps: 0 }), /steps must be an integer from 1/);
  throws(() => generateSettings(cfg, { prompts: ["x"], steps: -3 }), /steps must be an integer from 1/);
  throws(
    () => generateSettings(cfg, { prompts: ["x"], guidance: 51 }),
    /guidance must be a number from 0 to 50/,
  );
  throws(() => generateSettings(cfg, { prompts: ["x"], guidance: NaN }), /guidance/);
  throws(() => generateSettings(cfg, { prompts: ["x"], seeds: [-1] }), /seeds must be non-negative/);
  deepStrictEqual(ok1.noise, "torch");
  throws(
    () => generateSettings(cfg, { prompts: ["x"], noise: "numpy" as "torch" }),
    /unknown noise "numpy" \(use one of torch, portable\)/,
  );
});
