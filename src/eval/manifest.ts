/**
 * A concept benchmark manifest (`concepts.json`): which concepts a world has, in ConceptBench's categories
 * (object, style, ID), the prompts and seeds that test each, and how its judge detects it.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";

/** One concept of a benchmark. */
export interface BenchConcept {
  /** `object`, `style` or `id`. */
  category: string;
  /** The concept's name as used in prompts. */
  concept: string;
  /** Judge head that detects it. */
  head: string;
  /** Label index on that head. */
  label: number;
  /** Prompts that should show it. */
  prompts: string[];
  /** Seeds per prompt. */
  seeds: number[];
}

/** A benchmark manifest with paths resolved against its folder. */
export interface BenchManifest {
  /** Folder of the manifest. */
  dir: string;
  /** Sampling settings the world was checked with. */
  sampling: {
    steps: number;
    guidance_scale: number;
    height: number;
    width: number;
    negative_prompt?: string;
  };
  /** Absolute path of the model. */
  model: string;
  /** Absolute path of the judge's ONNX file. */
  judge: string;
  /** The concepts. */
  concepts: BenchConcept[];
  /**
   * The world's other words, which are no concept (the toy world's colours and scenes, from the manifest's
   * optional `colors` and `scenes`): what an erasure should leave alone besides the other concepts.
   */
  vocabulary: string[];
}

/**
 * Reads a manifest and resolves its model and judge paths.
 *
 * @example
 * ```ts ignore
 * import { readManifest } from "./manifest.ts";
 * const m = await readManifest("conceptbench/toy/concepts.json");
 * m.concepts.length; // 14
 * ```
 */
export async function readManifest(path: string): Promise<BenchManifest> {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: cannot read the benchmark manifest: ${(e as Error).message}`);
  }
  const dir = dirname(resolve(path));
  const concepts = raw.concepts as BenchConcept[] | undefined;
  const judge = (raw.judge as { onnx?: string } | undefined)?.onnx;
  if (!Array.isArray(concepts) || !concepts.length || typeof raw.model !== "string" || !judge) {
    throw new Error(`${path}: a manifest needs "model", "judge": {"onnx"} and a non-empty "concepts" list`);
  }
  for (const c of concepts) {
    if (!c.concept || !c.head || !Number.isInteger(c.label) || !c.prompts?.length || !c.seeds?.length) {
      throw new Error(`${path}: concept ${JSON.stringify(c.concept)} lacks head, label, prompts or seeds`);
    }
  }
  const words = [raw.colors, raw.scenes].flatMap((w) => Array.isArray(w) ? w : []);
  if (words.some((w) => typeof w !== "string" || !w.trim())) {
    throw new Error(`${path}: "colors" and "scenes" must list non-empty strings`);
  }
  return {
    vocabulary: words as string[],
    dir,
    sampling: raw.sampling as BenchManifest["sampling"],
    model: resolve(dir, raw.model as string),
    judge: resolve(dir, judge),
    concepts,
  };
}
