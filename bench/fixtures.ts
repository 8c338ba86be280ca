/**
 * Full-size synthetic checkpoints for benchmarks, written once into `.out/bench/` (git-ignored) and reused.
 *
 * @module
 */
import { mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeSyntheticCheckpoint } from "../src/formats/synth.ts";
import type { Family } from "../src/models/config.ts";

/** Folder of cached benchmark inputs. */
export const BENCH_DIR: string = join(new URL("..", import.meta.url).pathname, ".out", "bench");

/**
 * Path of a full-size synthetic single-file fp16 checkpoint of `family`, writing it first if missing
 * (SD 1.5: 2.1 GB, about half a minute).
 *
 * @example
 * ```ts ignore
 * import { fullCheckpoint } from "./fixtures.ts";
 * const path = await fullCheckpoint("sd15");
 * ```
 */
export async function fullCheckpoint(family: Family): Promise<string> {
  await mkdir(BENCH_DIR, { recursive: true });
  const path = join(BENCH_DIR, `${family}-full-f16.safetensors`);
  if (await stat(path).then(() => false, () => true)) {
    console.error(`writing ${path} (once; reused by later runs)…`);
    await writeSyntheticCheckpoint(path, { family, size: "full", dtype: "F16", seed: 0 });
  }
  return path;
}
