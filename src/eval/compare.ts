/**
 * Before/after comparison on a benchmark: detection rates of every concept for the base model and for each
 * patched variant, with the same prompts and seeds, plus an image grid.
 *
 * @module
 */
import type { Checkpoint } from "../formats/checkpoint.ts";
import { imageGrid } from "../image/grid.ts";
import type { RgbImage } from "../image/image.ts";
import type { PatchWeights } from "../models/unet_runner.ts";
import type { BackendName } from "../runtime/session.ts";
import { type ConceptDetection, detectionRates } from "./detection.ts";
import type { Judge } from "./judge.ts";
import type { BenchManifest } from "./manifest.ts";
import type { ComparisonRow } from "./report.ts";

/** One model variant: a label and its patch (null for the base model). */
export interface Variant {
  /** Column label, e.g. "base", "UCE". */
  label: string;
  /** Patched weights, or null. */
  patch: PatchWeights | null;
}

/** Result of {@linkcode compareVariants}. */
export interface Comparison {
  /** One row per concept. */
  rows: ComparisonRow[];
  /** Detections per variant label. */
  detections: Record<string, ConceptDetection[]>;
  /** Seconds spent. */
  seconds: number;
}

/**
 * Detection rates of every concept under every variant. Prompts of the kept concepts that mention an erased
 * concept are left out: they measure the erased concept, not collateral damage.
 *
 * @example
 * ```ts ignore
 * import { compareVariants } from "./compare.ts";
 * const c = await compareVariants(ckpt, manifest, judge, [{ label: "base", patch: null }, { label: "UCE", patch }], ["star"], { prompts: 2, seeds: 2 });
 * ```
 */
export async function compareVariants(
  ckpt: Checkpoint,
  manifest: BenchManifest,
  judge: Judge,
  variants: Variant[],
  erased: string[],
  options: {
    prompts?: number;
    seeds?: number;
    backend?: BackendName;
    concepts?: string[];
    onProgress?: (msg: string) => void;
  } = {},
): Promise<Comparison> {
  const t0 = performance.now();
  const detections: Record<string, ConceptDetection[]> = {};
  for (const v of variants) {
    detections[v.label] = await detectionRates(ckpt, manifest, judge, {
      prompts: options.prompts,
      seeds: options.seeds,
      concepts: options.concepts,
      excludeWords: erased,
      patch: v.patch,
      backend: options.backend,
      onConcept: (c, done, total) => options.onProgress?.(`${v.label}: ${c} (${done}/${total})`),
    });
  }
  const first = detections[variants[0].label];
  const rows = first.map((d, i) => ({
    concept: d.concept,
    category: d.category,
    erased: erased.includes(d.concept),
    rates: Object.fromEntries(variants.map((v) => [v.label, detections[v.label][i].rate])),
  }));
  return { rows, detections, seconds: (performance.now() - t0) / 1000 };
}

/**
 * A grid: one row per variant, columns = the first `perConcept` images of each listed concept.
 *
 * @example
 * ```ts ignore
 * import { comparisonGrid } from "./compare.ts";
 * const grid = comparisonGrid(comparison, ["star", "zorblax"], 2);
 * ```
 */
export function comparisonGrid(c: Comparison, concepts: string[], perConcept: number): RgbImage {
  const labels = Object.keys(c.detections);
  const cells: RgbImage[][] = labels.map((l) =>
    concepts.flatMap((name) => c.detections[l].find((d) => d.concept === name)!.images.slice(0, perConcept))
  );
  const columns = concepts.flatMap((name) => Array.from({ length: perConcept }, (_, i) => i ? "" : name));
  return imageGrid(cells, {
    rowLabels: labels,
    columnLabels: columns,
    cellWidth: 64,
    title: "same prompts and seeds",
  });
}
