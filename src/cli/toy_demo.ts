/**
 * The demo on the toy world: erase one concept of each category with UCE and RECE, and show — numbers and
 * pictures — that they are gone and that the other concepts are not.
 *
 * @module
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadModel } from "../api/model.ts";
import { Judge } from "../eval/judge.ts";
import { readManifest } from "../eval/manifest.ts";
import { compareVariants, comparisonGrid, type Variant } from "../eval/compare.ts";
import { formatComparison, writeHtmlReport } from "../eval/report.ts";
import { encodePng, writePng } from "../image/png_write.ts";
import { applyEdit } from "../patch/merge.ts";
import { writeLoraPatch } from "../patch/lora_file.ts";

/** Options of {@linkcode toyDemo}. */
export interface ToyDemoOptions {
  /** Output folder. */
  out: string;
  /** Prompts per concept. */
  prompts: number;
  /** Seeds per prompt. */
  seeds: number;
  /** `--backend` value. */
  backend: string;
}

/**
 * Runs the toy-world demo; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { toyDemo } from "./toy_demo.ts";
 * await toyDemo("conceptbench/toy/concepts.json", { out: "forget-demo", prompts: 2, seeds: 2, backend: "auto,ort-node" });
 * ```
 */
export async function toyDemo(manifestPath: string, options: ToyDemoOptions): Promise<number> {
  const t0 = performance.now();
  const manifest = await readManifest(manifestPath);
  const erased = ["object", "style", "id"].map((cat) =>
    manifest.concepts.find((c) => c.category === cat)!.concept
  );
  console.log(`forget demo — the built-in toy world (${manifest.model})`);
  console.log(
    `erasing ${erased.map((c) => JSON.stringify(c)).join(", ")} (one object, one style, one character)\n`,
  );
  const model = await loadModel(manifest.model, { backend: options.backend, cacheDir: null, warn: () => {} });
  const judge = await Judge.open(manifest.judge, { backend: model.backends.runtime });
  try {
    await mkdir(options.out, { recursive: true });
    const others = manifest.concepts.map((c) => c.concept).filter((c) => !erased.includes(c));
    const variants: Variant[] = [{ label: "base", patch: null }];
    const timings: string[] = [];
    for (const method of ["uce", "rece"] as const) {
      const t = performance.now();
      const plan = model.forget(erased, { method, preserve: others });
      const path = join(options.out, `no-${erased.join("-")}-${method}.safetensors`);
      const result = await plan.run();
      await writeLoraPatch(path, result.edit, model.checkpoint);
      const secs = (performance.now() - t) / 1000;
      timings.push(`${method.toUpperCase()} ${secs.toFixed(2)} s`);
      console.log(`${method.toUpperCase()}: erased in ${secs.toFixed(2)} s, patch ${path}`);
      variants.push({
        label: method.toUpperCase(),
        patch: { key: path, weights: await applyEdit(model.checkpoint.unet, result.edit) },
      });
    }
    console.log(
      `\ngenerating and judging ${options.prompts} prompt(s) × ${options.seeds} seed(s) per concept, per model…`,
    );
    const comparison = await compareVariants(model.checkpoint, manifest, judge, variants, erased, {
      prompts: options.prompts,
      seeds: options.seeds,
      backend: model.backends.runtime,
    });
    console.log("\ndetection rate by the judge (share of images in which it finds the concept)\n");
    console.log(formatComparison(comparison.rows));
    const grid = comparisonGrid(
      comparison,
      [...erased, others[0]],
      Math.min(2, options.prompts * options.seeds),
    );
    const gridPath = join(options.out, "before-after.png");
    await writePng(gridPath, grid);
    const reportPath = join(options.out, "report.html");
    await writeHtmlReport(reportPath, {
      title: `Erasing ${erased.join(", ")} from the toy world`,
      notes: [
        `Model: ${manifest.model}. Erased with UCE and RECE (closed form; ${
          timings.join(", ")
        }), preserving the other concepts.`,
        `Each concept was generated from ${options.prompts} prompt(s) × ${options.seeds} seed(s) with ${manifest.sampling.steps} DDIM steps, guidance ${manifest.sampling.guidance_scale}, the same seeds for every model, and classified by the toy world's judge.`,
      ],
      rows: comparison.rows,
      figures: [{
        caption:
          "Rows: base model, UCE patch, RECE patch. Columns: the erased concepts, then one kept concept.",
        png: encodePng(grid),
      }],
    });
    console.log(`\nwrote ${resolve(gridPath)}\nwrote ${resolve(reportPath)}`);
    console.log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    await judge.close();
    model.close();
  }
  return 0;
}
