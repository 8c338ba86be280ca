import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { filledImage } from "../image/image.ts";
import { serializeModel } from "../runtime/onnx_model.ts";
import { createSession } from "../runtime/session.ts";
import { randn } from "../sample/random.ts";
import { presetConfig } from "./config.ts";
import { buildUNetGraph, checkUNetConfig, UNET_IO } from "./unet_graph.ts";
import { decodeLatents, encodeImages } from "./vae_runner.ts";

Deno.test("unet graph: full cross-attention probabilities, refusals; VAE runners", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forget-unet-graph-" });
  try {
    await writeSyntheticCheckpoint(`${dir}/m`, {
      family: "sd15",
      size: "tiny",
      layout: "diffusers",
      seed: 3,
    });
    const ckpt = await loadCheckpoint(`${dir}/m`);
    const layer = "up_blocks.3.attentions.2.transformer_blocks.0.attn2";
    const graph = await buildUNetGraph(ckpt.unet, ckpt.config.unet, {
      height: 8,
      width: 8,
      attentionMaps: { layers: [layer], mode: "full" },
      weights: "stored",
    });
    ok(graph.nodes.some((n) => n.name === "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k"));
    const session = await createSession(serializeModel(graph));
    const out = await session.run({
      [UNET_IO.sample]: { dtype: "float32", dims: [1, 4, 8, 8], data: randn(256, 1, "s") },
      [UNET_IO.timestep]: { dtype: "float32", dims: [1], data: new Float32Array([10]) },
      [UNET_IO.encoderHiddenStates]: { dtype: "float32", dims: [1, 77, 16], data: randn(77 * 16, 1, "c") },
    });
    await session.release();
    const probs = out[`${layer}.probs`];
    deepStrictEqual(probs.dims, [1, 2, 64, 77]);
    const p = probs.data as Float32Array;
    for (let row = 0; row < 2 * 64; row++) {
      const sum = p.subarray(row * 77, (row + 1) * 77).reduce((a, b) => a + b, 0);
      ok(Math.abs(sum - 1) < 1e-5, "each query's probabilities sum to 1");
    }

    await rejects(
      buildUNetGraph(ckpt.unet, ckpt.config.unet, {
        height: 8,
        width: 8,
        attentionMaps: { layers: ["nope.attn2"] },
      }),
      /no cross-attention layer "nope.attn2"/,
    );
    await rejects(buildUNetGraph(ckpt.unet, ckpt.config.unet, { height: 0, width: 8 }), /positive integers/);
    await rejects(
      buildUNetGraph(ckpt.unet, ckpt.config.unet, { height: 8, width: 8, expose: ["x"] }),
      /no tensor named "x"/,
    );
    await rejects(
      buildUNetGraph(ckpt.unet, { ...ckpt.config.unet, cross_attention_dim: 32 }, { height: 8, width: 8 }),
      /attn2.to_k.weight" has shape \[8,16\], the configuration needs \[8,32\]/,
    );
    throws(
      () => checkUNetConfig({ ...presetConfig("sd15").unet, down_block_types: ["SimpleDownBlock2D"] }),
      /SimpleDownBlock2D is not supported/,
    );

    // VAE: latents → RGB → latents.
    const [image] = await decodeLatents(ckpt, randn(4 * 8 * 8, 2, "z"), 1, 8, 8);
    deepStrictEqual([image.width, image.height, image.channels], [64, 64, 3]);
    const latents = await encodeImages(ckpt, [image, filledImage(64, 64, [255, 0, 0])]);
    deepStrictEqual(latents.length, 2 * 4 * 8 * 8);
    ok(latents.every(Number.isFinite));
    await rejects(encodeImages(ckpt, [filledImage(60, 64, [0, 0, 0])]), /not a multiple of 8/);
    await rejects(decodeLatents(ckpt, new Float32Array(10), 1, 8, 8), /do not make 1×4×8×8 latents/);
    ckpt.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
