/**
 * Benchmark of the formats layer: open a full-size SD 1.5 single-file fp16 checkpoint, read its 32
 * to_k/to_v tensors and its text encoder (as float32), from the page cache, in a fresh process so its
 * peak memory is measured alone. Goal (issue 2): under 1 s, peak memory under 1 GB.
 *
 * @module
 */
import type { BenchRow, BenchSuite } from "./types.ts";
import { fullCheckpoint } from "./fixtures.ts";

async function readOnce(path: string): Promise<Record<string, number>> {
  const child = new URL("./read_checkpoint_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", child, path], // reading /proc/self/status needs --allow-all
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("read_checkpoint_child failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The formats suite. */
export const suite: BenchSuite = {
  name: "formats",
  async run(): Promise<BenchRow[]> {
    const path = await fullCheckpoint("sd15");
    await readOnce(path); // warm the page cache
    const runs = [await readOnce(path), await readOnce(path), await readOnce(path)];
    const best = runs.reduce((a, b) => (a.totalS < b.totalS ? a : b));
    const mb = best.f32Bytes / 1e6;
    return [
      { name: "sd15 fp16 single file: open + header", value: best.openS, unit: "s" },
      { name: "sd15: read 32 to_k/to_v → f32", value: best.kvS, unit: "s" },
      { name: "sd15: read text encoder → f32", value: best.textEncoderS, unit: "s" },
      {
        name: "sd15: open + to_k/to_v + text encoder",
        value: best.totalS,
        unit: "s",
        note: `goal < 1 s; ${(mb / best.totalS).toFixed(0)} MB/s of f32 produced; best of 3, warm cache`,
      },
      {
        name: "sd15: peak RSS of that process",
        value: best.peakRssBytes / 1e6,
        unit: "MB",
        note: "goal < 1000 MB",
      },
    ];
  },
};
