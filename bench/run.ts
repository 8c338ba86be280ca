/**
 * `deno task bench`: runs every benchmark suite and prints one table (and writes `.out/bench/results.json`).
 *
 * `deno task bench [suite ...]` runs only the named suites.
 *
 * @module
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cpus, totalmem } from "node:os";
import type { BenchRow, BenchSuite } from "./types.ts";
import { BENCH_DIR } from "./fixtures.ts";
import { printRows } from "./print.ts";
import { suite as erase } from "./erase.ts";
import { suite as fmn } from "./fmn.ts";
import { suite as formats } from "./formats.ts";
import { suite as image } from "./image.ts";
import { suite as kernels } from "./kernels.ts";
import { suite as noise } from "./noise.ts";
import { suite as runtime } from "./runtime.ts";
import { suite as safetensors } from "./safetensors.ts";
import { suite as tokenizer } from "./tokenizer.ts";
import { suite as toy } from "./toy.ts";
import { suite as unet } from "./unet.ts";

const SUITES: BenchSuite[] = [
  safetensors,
  formats,
  tokenizer,
  kernels,
  runtime,
  image,
  noise,
  unet,
  erase,
  fmn,
  toy,
];

const wanted = Deno.args.length ? new Set(Deno.args) : null;
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${
  (totalmem() / 2 ** 30).toFixed(0)
} GiB, ${Deno.build.os}/${Deno.build.arch}, Deno ${Deno.version.deno}`;
console.log(`machine: ${machine}\n`);
const results: Record<string, BenchRow[]> = {};
for (const s of SUITES) {
  if (wanted && !wanted.has(s.name)) continue;
  const t = performance.now();
  const rows = await s.run();
  results[s.name] = rows;
  console.log(`## ${s.name} (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  printRows(rows, "  ");
  console.log();
}
await mkdir(BENCH_DIR, { recursive: true });
await writeFile(
  join(BENCH_DIR, "results.json"),
  JSON.stringify({ machine, date: new Date().toISOString(), results }, null, 2),
);
