/**
 * Benchmarks of image output and sampling arithmetic (suite "image"): PNG encode and decode of a 512×512
 * RGB image (a smooth gradient with noise, like a generated picture), and one scheduler step on a
 * [1, 4, 64, 64] latent (the SD 1.x 512×512 size) for each scheduler.
 *
 * Run alone: `deno run -A bench/image.ts`.
 *
 * @module
 */

import type { BenchRow, BenchSuite } from "./types.ts";
import { printRows } from "./print.ts";
import { encodePng } from "../src/image/png_write.ts";
import { decodePng } from "../src/image/png_read.ts";
import type { RgbImage } from "../src/image/image.ts";
import { createScheduler } from "../src/sample/create_scheduler.ts";
import { initialLatents } from "../src/sample/latents.ts";
import { Random } from "../src/sample/random.ts";
import { SCHEDULER_KINDS } from "../src/sample/scheduler.ts";

/** A 512×512 picture-like image: gradients, a disc, and mild noise (compresses about as well as a photo). */
function testImage(): RgbImage {
  const size = 512;
  const data = new Uint8Array(size * size * 3);
  const rng = new Random(1, "bench image");
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const inside = (x - 300) ** 2 + (y - 220) ** 2 < 120 ** 2;
      const o = (y * size + x) * 3;
      const noise = (rng.nextUint32() & 15) - 8;
      data[o] = Math.max(0, Math.min(255, (inside ? 220 : x / 2) + noise));
      data[o + 1] = Math.max(0, Math.min(255, (inside ? 120 : y / 2) + noise));
      data[o + 2] = Math.max(0, Math.min(255, 128 + Math.sin(x / 17) * 60 + noise));
    }
  }
  return { width: size, height: size, channels: 3, data };
}

/**
 * Best (minimum) milliseconds of `fn` over `runs` runs after one warm-up: on a shared machine the minimum
 * is the least disturbed by other processes.
 */
function time(fn: () => void, runs: number): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    samples.push(performance.now() - start);
  }
  return Math.min(...samples);
}

function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const image = testImage();
  const megabytes = image.data.length / 1e6;
  let png: Uint8Array = new Uint8Array(0);
  const encodeMs = time(() => (png = encodePng(image)), 7);
  const fixedMs = time(() => encodePng(image, { filter: 4, level: 1 }), 7);
  const decodeMs = time(() => decodePng(png, "bench"), 7);
  rows.push({
    name: "PNG encode 512×512 RGB (adaptive filter, zlib 6)",
    value: megabytes / (encodeMs / 1000),
    unit: "MB/s",
    note: `${encodeMs.toFixed(1)} ms, ${
      (png.length / 1024).toFixed(0)
    } KiB; raw pixels per second, best of 7`,
  });
  rows.push({
    name: "PNG encode 512×512 RGB (Paeth, zlib 1: notebook display)",
    value: megabytes / (fixedMs / 1000),
    unit: "MB/s",
    note: `${fixedMs.toFixed(1)} ms; ${(encodeMs / fixedMs).toFixed(2)}× faster than the default`,
  });
  rows.push({
    name: "PNG decode 512×512 RGB",
    value: megabytes / (decodeMs / 1000),
    unit: "MB/s",
    note: `${decodeMs.toFixed(1)} ms; ${(encodeMs / decodeMs).toFixed(2)}× faster than encoding`,
  });

  const shape = [1, 4, 64, 64];
  const n = shape.reduce((a, b) => a * b, 1);
  const output = initialLatents(shape, 2);
  const steps = 20;
  let eulerUs = 0;
  for (const kind of SCHEDULER_KINDS) {
    // Time full 20-step runs (multistep samplers do more work once history builds up), per step.
    const perStep = time(() => {
      const scheduler = createScheduler(kind, {}, steps);
      const noise = new Random(3, "bench");
      let latents = initialLatents(shape, 1, scheduler.initNoiseSigma);
      for (let i = 0; i < scheduler.timesteps.length; i++) {
        const input = scheduler.scaleModelInput(latents, i);
        latents = scheduler.step(output, i, latents, scheduler.needsNoise ? noise : undefined);
        if (input.length !== n) throw new Error("shape");
      }
    }, 7) / (kind === "pndm" ? steps + 1 : steps) * 1000;
    if (kind === "euler") eulerUs = perStep;
    rows.push({
      name: `scheduler step ${kind} [1,4,64,64]`,
      value: perStep,
      unit: "µs/step",
      note: `scaleModelInput + step, mean over a 20-step run, best of 7${
        eulerUs && kind !== "euler" ? `; ${(perStep / eulerUs).toFixed(2)}× euler` : ""
      }${kind === "euler-ancestral" ? "; includes drawing 16,384 seeded normals" : ""}`,
    });
  }
  return Promise.resolve(rows);
}

/** The "image" benchmark suite. */
export const suite: BenchSuite = { name: "image", run };

if (import.meta.main) printRows(await suite.run());
