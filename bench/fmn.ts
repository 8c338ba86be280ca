/**
 * Benchmark of Forget-Me-Not re-steering: 35 steps on the toy model (goal < 10 s on this CPU), and steps per
 * second on a full-size synthetic SD 1.5 at 512×512 (reference images from a folder, so the UNet's own
 * generation is not timed). The reference's figure is 30 s for 35 steps on a GPU.
 *
 * @module
 */
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import type { BenchRow, BenchSuite } from "./types.ts";
import { BENCH_DIR, fullCheckpoint } from "./fixtures.ts";
import { loadCheckpoint } from "../src/formats/checkpoint.ts";
import { FMN_DEFAULTS, fmnErase } from "../src/methods/fmn/fmn.ts";
import { computeBackend, parseBackends } from "../src/api/backends.ts";
import { toyManifestPath } from "../src/eval/toy_world.ts";
import { readManifest } from "../src/eval/manifest.ts";
import { writePng } from "../src/image/png_write.ts";
import { Random } from "../src/sample/random.ts";

async function run(
  path: string,
  concept: string,
  settings: typeof FMN_DEFAULTS,
): Promise<{ total: number; steps: number; forward: number; gradients: number }> {
  const ckpt = await loadCheckpoint(path);
  const backend = await computeBackend(parseBackends("cpu,ort-node"));
  const t = performance.now();
  const { report } = await fmnErase(ckpt, [concept], settings, { backend, runtime: "ort-node" });
  const total = (performance.now() - t) / 1000;
  ckpt.close();
  return {
    total,
    steps: report.losses.length,
    forward: report.timings.forward,
    gradients: report.timings.gradients,
  };
}

/** The Forget-Me-Not suite. */
export const suite: BenchSuite = {
  name: "fmn",
  async run(): Promise<BenchRow[]> {
    const rows: BenchRow[] = [];
    const toy = await toyManifestPath();
    if (toy) {
      const m = await readManifest(toy);
      const r = await run(m.model, "star", { ...FMN_DEFAULTS, steps: 35 });
      rows.push({
        name: "toy model: 35 re-steering steps, whole run (incl. reference generation)",
        value: r.total,
        unit: "s",
        note: `goal < 10 s; forward ${r.forward.toFixed(2)} s, gradients ${r.gradients.toFixed(2)} s`,
      });
    }
    // Full size: two random 512×512 reference images on disk (generation would dominate otherwise).
    const refs = join(BENCH_DIR, "fmn-refs");
    await mkdir(refs, { recursive: true });
    const rng = new Random(0, "refs");
    for (const i of [0, 1]) {
      const data = Uint8Array.from({ length: 512 * 512 * 3 }, () => rng.nextUint32() & 255);
      await writePng(join(refs, `ref${i}.png`), { width: 512, height: 512, channels: 3, data });
    }
    const steps = 2;
    const r = await run(await fullCheckpoint("sd15"), "zebra", { ...FMN_DEFAULTS, steps, images: refs });
    rows.push({
      name: `sd15 512×512: re-steering step (UNet forward + 16 layers' gradients + AdamW)`,
      value: (r.forward + r.gradients) / steps,
      unit: "s/step",
      note: `${(steps / (r.forward + r.gradients)).toFixed(3)} steps/s; forward ${
        (r.forward / steps).toFixed(1)
      } s, gradients ${(r.gradients / steps).toFixed(1)} s per step; whole run ${r.total.toFixed(0)} s`,
    });
    return rows;
  },
};
