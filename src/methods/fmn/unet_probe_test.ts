import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSyntheticCheckpoint } from "../../formats/synth.ts";
import { loadCheckpoint } from "../../formats/checkpoint.ts";
import { createUNetRunner } from "../../models/unet_runner.ts";
import { CpuBackend } from "../../../kernels/cpu/backend.ts";
import { matrix } from "../../../kernels/matrix.ts";
import { randn } from "../../sample/random.ts";
import { unetProbe } from "./unet_probe.ts";

Deno.test("FMN probe: attn2 inputs from the UNet reproduce the graph's own attention probabilities", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "m.safetensors");
    await writeSyntheticCheckpoint(path, { family: "sd15", dtype: "F32", seed: 3 });
    const ckpt = await loadCheckpoint(path);
    const d = ckpt.config.unet.cross_attention_dim;
    const latents = randn(4 * 4 * 4, 1, "latents"), context = randn(77 * d, 2, "context");
    const weights = new Map<string, Float32Array>();
    for (const l of ckpt.crossAttention) {
      weights.set(`${l.module}.to_q.weight`, await ckpt.unet.readFloat32(l.toQ));
      weights.set(`${l.module}.to_k.weight`, await ckpt.unet.readFloat32(l.toK));
    }
    const probe = unetProbe(ckpt, { height: 4, width: 4, backend: "ort-node" });
    const xs = await probe.queryInputs(latents, 500, context, weights);
    assert.equal(xs.length, 16);
    const runner = createUNetRunner(ckpt, {
      height: 4,
      width: 4,
      backend: "ort-node",
      attentionMaps: { mode: "full" },
    });
    const { maps } = await runner.run({ batch: 1, sample: latents, timestep: 500, context });
    const backend = new CpuBackend();
    const all = Array.from({ length: 77 }, (_, i) => i);
    for (let l = 0; l < probe.layers.length; l++) {
      const layer = probe.layers[l];
      const ours = await backend.attentionProbabilities({
        x: matrix(xs[l].length / layer.channels, layer.channels, xs[l]),
        context: matrix(77, d, context),
        wq: matrix(layer.channels, layer.channels, weights.get(`${layer.module}.to_q.weight`)!),
        wk: matrix(layer.channels, d, weights.get(`${layer.module}.to_k.weight`)!),
        heads: layer.heads,
        keys: all,
      });
      const ref = maps[`${layer.module}.probs`].data as Float32Array; // [1, heads, n, 77]
      let maxDiff = 0;
      for (let i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - ours.data[i]));
      assert.ok(maxDiff < 1e-5, `${layer.module}: ${maxDiff}`);
    }
    // Changing to_q changes the next run: the weights are live inputs.
    const first = probe.layers[15];
    const bumped = new Map(weights);
    bumped.set(
      `${probe.layers[0].module}.to_q.weight`,
      weights.get(`${probe.layers[0].module}.to_q.weight`)!.map((v) => v * 3),
    );
    const xs2 = await probe.queryInputs(latents, 500, context, bumped);
    assert.notDeepEqual(xs2[15], xs[15], `${first.module} should see the change upstream`);
    ckpt.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
