/**
 * Benchmarks of the CLIP tokenizer (suite "tokenizer"): loading the bundled vocabulary, loading a
 * diffusers tokenizer folder, and tokenizing ~2,000 varied prompts (a preserve list of the kind UCE
 * uses: "in the style of <artist>" and friends), first with an empty BPE cache, then repeated.
 *
 * Run alone: `deno run -A bench/tokenizer.ts`.
 *
 * @module
 */

import type { BenchRow, BenchSuite } from "./types.ts";
import { printRows } from "./print.ts";
import { ClipTokenizer } from "../src/tokenizer/clip_tokenizer.ts";
import { loadBundledVocabulary, readBundledVocabulary } from "../src/tokenizer/bundled_vocabulary.ts";
import { exportVocabulary } from "../src/tokenizer/export_vocabulary.ts";

const FIRST_NAMES = [
  "Vincent",
  "Claude",
  "Pablo",
  "Frida",
  "Gustav",
  "Alphonse",
  "Greg",
  "Kelly",
  "Thomas",
  "Salvador",
  "Édouard",
  "René",
  "Zdzisław",
  "Hayao",
  "Jakub",
  "Simon",
  "Georgia",
  "Keith",
  "Yayoi",
  "Wassily",
];
const LAST_NAMES = [
  "van Gogh",
  "Monet",
  "Picasso",
  "Kahlo",
  "Klimt",
  "Mucha",
  "Rutkowski",
  "McKernan",
  "Kinkade",
  "Dalí",
  "Manet",
  "Magritte",
  "Beksiński",
  "Miyazaki",
  "Różalski",
  "Stålenhag",
  "O'Keeffe",
  "Haring",
  "Kusama",
  "Kandinsky",
];
const TEMPLATES = [
  (name: string) => `in the style of ${name}`,
  (name: string) => `a painting by ${name}`,
  (name: string) => `art by ${name}, highly detailed, trending on artstation!`,
  (name: string) => `${name}-inspired landscape at dusk, 8k, (masterpiece:1.2)`,
  (name: string) => `portrait of a woman in the manner of ${name}; oil on canvas`,
];

/** About 2,000 distinct prompts built from names and templates. */
export function benchPrompts(): string[] {
  const prompts: string[] = [];
  for (const first of FIRST_NAMES) {
    for (const last of LAST_NAMES) {
      for (const template of TEMPLATES) prompts.push(template(`${first} ${last}`));
    }
  }
  return prompts;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];

  let start = performance.now();
  await loadBundledVocabulary();
  const firstLoad = performance.now() - start;
  const rebuilds: number[] = [];
  for (let i = 0; i < 5; i++) {
    start = performance.now();
    await readBundledVocabulary();
    rebuilds.push(performance.now() - start);
  }
  const rebuild = median(rebuilds);
  rows.push({
    name: "bundled vocabulary, first load in process",
    value: firstLoad,
    unit: "ms",
    note: "read + inflate 48,895 lines (fflate) + build 49,408 tokens; 0 if another suite loaded it first",
  });
  rows.push({
    name: "bundled vocabulary, rebuild (warm JIT)",
    value: rebuild,
    unit: "ms",
    note: "median of 5",
  });

  const dir = await Deno.makeTempDir({ prefix: "bench_tokenizer_" });
  try {
    await exportVocabulary(await loadBundledVocabulary(), dir);
    const folderLoads: number[] = [];
    for (let i = 0; i < 3; i++) {
      start = performance.now();
      await ClipTokenizer.fromFolder(dir);
      folderLoads.push(performance.now() - start);
    }
    const folder = median(folderLoads);
    rows.push({
      name: "tokenizer folder load (vocab.json + merges.txt)",
      value: folder,
      unit: "ms",
      note: `median of 3; ${(folder / rebuild).toFixed(2)}× the bundled rebuild`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const prompts = benchPrompts();
  // A fresh vocabulary object gets its own (empty) BPE cache.
  const cold = new ClipTokenizer({ vocabulary: await readBundledVocabulary() });
  start = performance.now();
  for (const prompt of prompts) cold.encode(prompt);
  const coldSeconds = (performance.now() - start) / 1000;
  const warmRuns: number[] = [];
  for (let i = 0; i < 5; i++) {
    start = performance.now();
    for (const prompt of prompts) cold.encode(prompt);
    warmRuns.push((performance.now() - start) / 1000);
  }
  const warmSeconds = median(warmRuns);
  rows.push({
    name: `encode ${prompts.length} prompts, first pass (empty BPE cache)`,
    value: prompts.length / coldSeconds,
    unit: "prompts/s",
  });
  rows.push({
    name: `encode ${prompts.length} prompts, repeated (warm cache and JIT)`,
    value: prompts.length / warmSeconds,
    unit: "prompts/s",
    note: `${(coldSeconds / warmSeconds).toFixed(2)}× the first pass; median of 5`,
  });
  start = performance.now();
  cold.encodeBatch(prompts);
  const batchSeconds = (performance.now() - start) / 1000;
  rows.push({
    name: `encodeBatch ${prompts.length} prompts, warm`,
    value: prompts.length / batchSeconds,
    unit: "prompts/s",
    note: `${(warmSeconds / batchSeconds).toFixed(2)}× encode one by one`,
  });
  return rows;
}

/** The tokenizer benchmark suite. */
export const suite: BenchSuite = { name: "tokenizer", run };

if (import.meta.main) printRows(await suite.run());
