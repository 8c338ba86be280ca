/**
 * `forget synth`: writes a synthetic checkpoint with the real key names (and, for `full`, real shapes).
 *
 * @module
 */
import { FAMILIES } from "../models/config.ts";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { integerOption, oneOf, parseCommand, requireString } from "./errors.ts";
import { progressBar } from "./progress.ts";

const HELP = `usage: deno task forget synth --family sd15|sd21|sdxl --out PATH
       [--size tiny|full] [--layout single|diffusers] [--dtype f16|f32|bf16] [--seed N] [--ema]

Writes a synthetic Stable Diffusion checkpoint: every key of the real model with seeded random values.
tiny keeps every key with small widths (tests); full has the real shapes (benchmarks; SD 1.5 fp16 is 2 GB).`;

/**
 * Runs `forget synth` with the given arguments; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { synthCommand } from "./synth.ts";
 * await synthCommand(["--family", "sd15", "--out", "/tmp/sd15.safetensors"]);
 * ```
 */
export async function synthCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    family: { type: "string" },
    size: { type: "string" },
    layout: { type: "string" },
    dtype: { type: "string" },
    seed: { type: "string" },
    ema: { type: "boolean" },
    out: { type: "string" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const family = oneOf(values, "family", FAMILIES);
  const out = requireString(values, "out");
  const dtype = oneOf(values, "dtype", ["f16", "f32", "bf16"] as const, "f16").toUpperCase() as
    | "F16"
    | "F32"
    | "BF16";
  const started = performance.now();
  const bar = progressBar(`synth ${family}`);
  await writeSyntheticCheckpoint(out, {
    family,
    size: oneOf(values, "size", ["tiny", "full"] as const, "tiny"),
    layout: oneOf(values, "layout", ["single", "diffusers"] as const, "single"),
    dtype,
    seed: integerOption(values, "seed", 0, 0, Number.MAX_SAFE_INTEGER),
    ema: values.ema === true,
    onProgress: bar.update,
  });
  bar.done();
  console.log(`wrote ${out} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return 0;
}
