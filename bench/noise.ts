/**
 * Benchmarks of noise generation (suite "noise"): standard normals per second for SD latents of
 * [1, 4, 64, 64] (512×512 images) and [1, 4, 128, 128] (1024×1024, SDXL), drawn by the torch-compatible
 * generator (both of its kernels) and by the portable one, each as one fresh generator per draw, as
 * generation does per image.
 *
 * Run alone: `deno run -A bench/noise.ts`.
 *
 * @module
 */

import type { BenchRow, BenchSuite } from "./types.ts";
import { printRows } from "./print.ts";
import { Random } from "../src/sample/random.ts";
import { TorchGenerator } from "../src/sample/torch_generator.ts";

const SOURCES = {
  "torch (avx2 kernel)": (seed: number) => new TorchGenerator(seed),
  "torch (scalar kernel)": (seed: number) => new TorchGenerator(seed, { kernel: "scalar" }),
  "portable": (seed: number) => new Random(seed, "latents"),
};

/** Normals per second filling `n` values from a fresh source: the best of `runs` (after a warm-up). */
function normalsPerSecond(
  make: (seed: number) => { fillNormal(out: Float32Array): Float32Array },
  n: number,
) {
  const out = new Float32Array(n);
  let best = Infinity;
  for (let run = 0; run <= 9; run++) {
    const start = performance.now();
    make(run).fillNormal(out);
    const ms = performance.now() - start;
    if (run > 0) best = Math.min(best, ms);
  }
  return n / (best / 1000);
}

function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const [label, side] of [["4×64×64", 64], ["4×128×128", 128]] as const) {
    const n = 4 * side * side;
    const rates = Object.fromEntries(
      Object.entries(SOURCES).map(([name, make]) => [name, normalsPerSecond(make, n)]),
    );
    const portable = rates["portable"];
    for (const [name, rate] of Object.entries(rates)) {
      rows.push({
        name: `normals ${label} ${name}`,
        value: rate / 1e6,
        unit: "M/s",
        note: `${(n / rate * 1000).toFixed(2)} ms per latent, best of 9` +
          (name === "portable" ? "" : `; ${(portable / rate).toFixed(1)}× slower than portable`),
      });
    }
  }
  return Promise.resolve(rows);
}

/** The "noise" benchmark suite. */
export const suite: BenchSuite = { name: "noise", run };

if (import.meta.main) printRows(await suite.run());
