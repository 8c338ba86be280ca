/**
 * Benchmarks of the ONNX Runtime layer: the MatMul peak of each backend, and a full-size CLIP
 * ViT-L/14 text encoder (seeded synthetic weights) encoding 16 prompts, reported as GFLOP/s next to
 * the peak measured in the same run, plus graph build and session creation times.
 *
 * @module
 */

import type { BenchRow, BenchSuite } from "./types.ts";
import { printRows } from "./print.ts";
import { clipL14, clipTextFlops } from "../src/models/clip_config.ts";
import { syntheticClipText } from "../src/models/clip_synthetic.ts";
import { encodeTokenIds, type TextEncoderModel } from "../src/models/text_encoders.ts";
import { measureMatMulPeak } from "../src/runtime/matmul.ts";
import type { BackendName } from "../src/runtime/session.ts";
import { releaseSessions } from "../src/runtime/session_cache.ts";

const PROMPTS = 16;

async function timeIt(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

async function backendRows(
  backend: BackendName,
  model: TextEncoderModel,
  ids: Int32Array,
): Promise<BenchRow[]> {
  const config = clipL14();
  const rows: BenchRow[] = [];
  // Other work on the machine makes single measurements noisy: the peak is the better of one
  // taken before and one after the encoder runs.
  const peakBefore = await measureMatMulPeak(backend, 1024, 1);
  let build = 0;
  let create = 0;
  await encodeTokenIds(model, [ids.subarray(0, 77)], 1, {
    backend,
    onSession: (_, t) => [build, create] = [t.buildMs / 1000, t.createMs / 1000],
  });
  rows.push({
    name: `clip-l14 graph build ${backend}`,
    value: build,
    unit: "s",
    note: "read weights + serialize",
  });
  rows.push({ name: `clip-l14 session create ${backend}`, value: create, unit: "s" });
  let one = Infinity;
  for (let i = 0; i < 3; i++) {
    one = Math.min(
      one,
      await timeIt(() => encodeTokenIds(model, [ids.subarray(0, 77)], 1, { backend })),
    );
  }
  rows.push({
    name: `clip-l14 1 prompt ${backend}`,
    value: one,
    unit: "s",
    note: "77 tokens, best of 3; goal < 0.5 s on ort-node",
  });
  const repeats = 2; // best of two, like the peak it is compared with
  let batch = Infinity;
  for (let i = 0; i < repeats; i++) {
    batch = Math.min(
      batch,
      await timeIt(() => encodeTokenIds(model, [ids], PROMPTS, { backend, batchSize: PROMPTS })),
    );
  }
  const gflops = clipTextFlops(config, config.numLayers, PROMPTS) / batch / 1e9;
  const peak = Math.max(peakBefore, await measureMatMulPeak(backend, 1024, 1));
  rows.unshift({
    name: `matmul 1024 peak ${backend}`,
    value: peak,
    unit: "GFLOP/s",
    note: "best of two, same run",
  });
  rows.push({ name: `clip-l14 ${PROMPTS} prompts ${backend}`, value: batch, unit: "s" });
  rows.push({
    name: `clip-l14 ${PROMPTS} prompts ${backend} rate`,
    value: gflops,
    unit: "GFLOP/s",
    note: `${(gflops / peak * 100).toFixed(0)}% of the MatMul peak (goal ≥ 50%)`,
  });
  await releaseSessions(`text-encoder:${model.hash}`);
  return rows;
}

/** The runtime suite: MatMul peaks and CLIP ViT-L/14 text encoding on both backends. */
export const suite: BenchSuite = {
  name: "runtime",
  async run(): Promise<BenchRow[]> {
    const model: TextEncoderModel = {
      family: "sd15",
      encoders: [syntheticClipText(clipL14(), 7)],
      hash: "bench-synthetic-clip-l14",
    };
    const ids = new Int32Array(PROMPTS * 77);
    for (let i = 0; i < ids.length; i++) ids[i] = (i * 7919 + 13) % 49408;
    const rows: BenchRow[] = [];
    for (const backend of ["ort-node", "ort-web"] as const) {
      try {
        rows.push(...await backendRows(backend, model, ids));
      } catch (e) {
        rows.push({
          name: `runtime ${backend}`,
          value: NaN,
          unit: "",
          note: `failed: ${(e as Error).message}`,
        });
      }
    }
    return rows;
  },
};

if (import.meta.main) printRows(await suite.run());
