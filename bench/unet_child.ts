/**
 * Child process of the UNet benchmark: one configuration (backend, weight binding) of a checkpoint's
 * UNet at a latent size, batch 2 (classifier-free guidance): graph build + session creation, then UNet
 * evaluations; prints timings and its own peak resident memory as JSON (or the error, as JSON).
 *
 * Arguments: checkpoint, backend, weights (`float32`|`stored`|`auto`), latent size, runs, `swappable`?
 *
 * @module
 */
import { loadCheckpoint } from "../src/formats/checkpoint.ts";
import { createUNetRunner, unetWeightStorage } from "../src/models/unet_runner.ts";
import type { BackendName } from "../src/runtime/session.ts";
import { randn } from "../src/sample/random.ts";

const [path, backend, weights, sizeArg, runsArg, swap] = Deno.args;
const size = Number(sizeArg), runs = Number(runsArg);
const peak = async () =>
  Number((await Deno.readTextFile("/proc/self/status")).match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) * 1024;
try {
  const ckpt = await loadCheckpoint(path);
  const storage = unetWeightStorage(ckpt.unet, backend as BackendName, weights as "auto");
  const unet = createUNetRunner(ckpt, {
    height: size,
    width: size,
    backend: backend as BackendName,
    weights: storage,
    swappable: swap === "swappable",
  });
  const t0 = performance.now();
  const timing = await unet.prepare();
  const prepareS = (performance.now() - t0) / 1000;
  const ctx = ckpt.config.unet.cross_attention_dim;
  const inputs = {
    batch: 2,
    sample: randn(2 * 4 * size * size, 1, "x"),
    timestep: 500,
    context: randn(2 * 77 * ctx, 1, "c"),
  };
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const { output } = await unet.run(inputs);
    times.push((performance.now() - t) / 1000);
    if (!output.every(Number.isFinite)) throw new Error("UNet output is not finite");
  }
  console.log(JSON.stringify({
    ok: true,
    storage,
    buildS: timing.buildMs / 1000,
    createS: timing.createMs / 1000,
    prepareS,
    runS: times,
    peakRssBytes: await peak(),
  }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: (e as Error).message, peakRssBytes: await peak() }));
}
