/**
 * UNet and VAE graphs against diffusers (tests/reference/unet_vae_fixtures.py): the same tiny synthetic
 * checkpoints (seed 1, float32, diffusers layout), the same inputs, max abs error ≤ 1e-4.
 */
import { ok } from "node:assert/strict";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { serializeModel } from "../runtime/onnx_model.ts";
import { createSession, type RuntimeTensor } from "../runtime/session.ts";
import type { Family } from "./config.ts";
import { buildUNetGraph, UNET_IO } from "./unet_graph.ts";
import { buildVaeDecoderGraph, buildVaeEncoderGraph, VAE_IO } from "./vae_graph.ts";

const FIXTURES = new URL("../../tests/fixtures/unet/", import.meta.url).pathname;
const MAP_LAYER = "down_blocks.1.attentions.0.transformer_blocks.0.attn2";

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function fixture(file: SafetensorsFile, name: string): Promise<RuntimeTensor> {
  return { dtype: "float32", dims: file.info(name).shape, data: await file.readFloat32(name) };
}

async function parity(family: Family): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "forget-unet-parity-" });
  const ref = await SafetensorsFile.open(`${FIXTURES}${family}.safetensors`);
  try {
    await writeSyntheticCheckpoint(`${dir}/m`, {
      family,
      size: "tiny",
      layout: "diffusers",
      dtype: "F32",
      seed: 1,
    });
    const ckpt = await loadCheckpoint(`${dir}/m`);
    const sdxl = family === "sdxl";
    const expose = family === "sd15" ? { attentionMaps: { layers: [MAP_LAYER] } } : {};
    const unet = await createSession(
      serializeModel(await buildUNetGraph(ckpt.unet, ckpt.config.unet, { height: 8, width: 8, ...expose })),
    );
    const feeds: Record<string, RuntimeTensor> = {
      [UNET_IO.sample]: await fixture(ref, "sample"),
      [UNET_IO.timestep]: await fixture(ref, "timestep"),
      [UNET_IO.encoderHiddenStates]: await fixture(ref, "encoder_hidden_states"),
    };
    if (sdxl) {
      feeds[UNET_IO.textEmbeds] = await fixture(ref, "text_embeds");
      feeds[UNET_IO.timeIds] = await fixture(ref, "time_ids");
    }
    if (family === "sd15") {
      feeds[UNET_IO.attentionTokens] = { dtype: "int64", dims: [2], data: new BigInt64Array([1n, 5n]) };
    }
    const out = await unet.run(feeds);
    await unet.release();
    const err = maxAbsDiff(out[UNET_IO.output].data as Float32Array, await ref.readFloat32("out_sample"));
    ok(err <= 1e-4, `${family} UNet max abs error ${err}`);
    if (family === "sd15") {
      // Self-attention in slices of heads (forced here; automatic for large latents) gives the same result.
      const sliced = await createSession(
        serializeModel(
          await buildUNetGraph(ckpt.unet, ckpt.config.unet, { height: 8, width: 8, attentionSliceBytes: 0 }),
        ),
      );
      const { [UNET_IO.attentionTokens]: _, ...plain } = feeds;
      const slicedOut = await sliced.run(plain);
      await sliced.release();
      const slicedErr = maxAbsDiff(
        slicedOut[UNET_IO.output].data as Float32Array,
        await ref.readFloat32("out_sample"),
      );
      ok(slicedErr <= 1e-4, `${family} UNet with sliced self-attention max abs error ${slicedErr}`);
      const mapErr = maxAbsDiff(out[`${MAP_LAYER}.maps`].data as Float32Array, await ref.readFloat32("maps"));
      ok(mapErr <= 1e-5, `${family} attention maps max abs error ${mapErr}`);
      const odd = await createSession(
        serializeModel(await buildUNetGraph(ckpt.unet, ckpt.config.unet, { height: 9, width: 7 })),
      );
      const ehs = await fixture(ref, "encoder_hidden_states");
      const oddOut = await odd.run({
        [UNET_IO.sample]: await fixture(ref, "odd_sample"),
        [UNET_IO.timestep]: { dtype: "float32", dims: [1], data: new Float32Array([500]) },
        [UNET_IO.encoderHiddenStates]: {
          dtype: "float32",
          dims: [1, ...ehs.dims.slice(1)],
          data: ehs.data.subarray(0, ehs.data.length / 2),
        },
      });
      await odd.release();
      const oddErr = maxAbsDiff(
        oddOut[UNET_IO.output].data as Float32Array,
        await ref.readFloat32("odd_out_sample"),
      );
      ok(oddErr <= 1e-4, `${family} UNet 9×7 latents max abs error ${oddErr}`);
    }

    const vaeOptions = { height: 8, width: 8, scaled: false };
    const decoder = await createSession(
      serializeModel(await buildVaeDecoderGraph(ckpt.vae!, ckpt.config.vae, vaeOptions)),
    );
    const decoded = await decoder.run({ [VAE_IO.latents]: await fixture(ref, "vae_latents") });
    await decoder.release();
    const decErr = maxAbsDiff(
      decoded[VAE_IO.image].data as Float32Array,
      await ref.readFloat32("vae_decoded"),
    );
    ok(decErr <= 1e-4, `${family} VAE decode max abs error ${decErr}`);

    const encoder = await createSession(
      serializeModel(await buildVaeEncoderGraph(ckpt.vae!, ckpt.config.vae, vaeOptions)),
    );
    const encoded = await encoder.run({ [VAE_IO.image]: await fixture(ref, "vae_image_in") });
    await encoder.release();
    const encErr = maxAbsDiff(
      encoded[VAE_IO.latentMean].data as Float32Array,
      await ref.readFloat32("vae_latent_mean"),
    );
    ok(encErr <= 1e-4, `${family} VAE encode max abs error ${encErr}`);
    console.log(
      `${family}: UNet ${err.toExponential(2)}, VAE decode ${decErr.toExponential(2)}, encode ${
        encErr.toExponential(2)
      }`,
    );
    ckpt.close();
  } finally {
    ref.close();
    await Deno.remove(dir, { recursive: true });
  }
}

for (const family of ["sd15", "sd21", "sdxl"] as const) {
  Deno.test(`unet/vae parity with diffusers: ${family}`, () => parity(family));
}
