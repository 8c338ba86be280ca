/**
 * Detection rates: generate each concept's test images (with or without a patch) and ask the judge whether
 * the concept is there. The before/after difference of these rates is the evidence an erasure worked — on
 * the erased concept — and did no harm — on the others.
 *
 * @module
 */
import type { Checkpoint } from "../formats/checkpoint.ts";
import type { RgbImage } from "../image/image.ts";
import type { PatchWeights } from "../models/unet_runner.ts";
import { generateImages } from "../sample/generate.ts";
import type { BackendName } from "../runtime/session.ts";
import type { Judge, JudgeVerdict } from "./judge.ts";
import type { BenchConcept, BenchManifest } from "./manifest.ts";

/** Which part of the manifest to run. */
export interface DetectionOptions {
  /** Concepts to measure (default all). */
  concepts?: string[];
  /** Use the first n prompts of each concept (default all). */
  prompts?: number;
  /** Use the first n seeds (default all). */
  seeds?: number;
  /**
   * Leave out prompts that mention any of these words (e.g. the erased concepts, when measuring the
   * others: "a green star in striped style" tests "striped" as much as "star"). Applied before `prompts`.
   */
  excludeWords?: string[];
  /** The patch's weights, or null for the base model. */
  patch?: PatchWeights | null;
  /** ONNX Runtime build. */
  backend?: BackendName;
  /** Called after each concept. */
  onConcept?: (concept: string, done: number, total: number) => void;
}

/** One concept's result. */
export interface ConceptDetection {
  /** The concept. */
  concept: string;
  /** Its category. */
  category: string;
  /** Share of its test images in which the judge finds it (0..1). */
  rate: number;
  /** The images, in prompt-major order. */
  images: RgbImage[];
  /** The judge's verdicts, per image. */
  verdicts: JudgeVerdict[];
}

/**
 * Detection rate of each concept: its prompts × seeds generated as the manifest says, judged.
 *
 * @example
 * ```ts ignore
 * import { detectionRates } from "./detection.ts";
 * const before = await detectionRates(ckpt, manifest, judge, { prompts: 2, seeds: 2 });
 * ```
 */
export async function detectionRates(
  ckpt: Checkpoint,
  manifest: BenchManifest,
  judge: Judge,
  options: DetectionOptions = {},
): Promise<ConceptDetection[]> {
  const chosen: BenchConcept[] = options.concepts
    ? options.concepts.map((name) => {
      const c = manifest.concepts.find((x) => x.concept === name);
      if (!c) {
        throw new Error(
          `the benchmark has no concept "${name}" (it has ${
            manifest.concepts.map((x) => x.concept).join(", ")
          })`,
        );
      }
      return c;
    })
    : manifest.concepts;
  const s = manifest.sampling;
  const out: ConceptDetection[] = [];
  for (const [i, c] of chosen.entries()) {
    const excluded = (options.excludeWords ?? []).filter((w) => w.toLowerCase() !== c.concept.toLowerCase());
    const mentions = (p: string) =>
      excluded.some((w) => new RegExp(`\\b${w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`, "i").test(p));
    const kept = c.prompts.filter((p) => !mentions(p));
    const prompts = kept.slice(0, options.prompts ?? kept.length);
    if (!prompts.length) throw new Error(`every prompt of "${c.concept}" mentions an excluded word`);
    const seeds = c.seeds.slice(0, options.seeds ?? c.seeds.length);
    const made = await generateImages(ckpt, {
      prompts,
      seeds,
      steps: s.steps,
      guidance: s.guidance_scale,
      width: s.width,
      height: s.height,
      negative: s.negative_prompt ?? "",
      scheduler: "ddim",
      noise: "torch", // the manifest's seed rule: one torch CPU generator per image
      patch: options.patch ?? null,
      swappable: true,
      backend: options.backend,
      warn: () => {},
    });
    const images = made.map((m) => m.image);
    const verdicts = await judge.classify(images);
    const hits = verdicts.filter((v) => v[c.head]?.index === c.label).length;
    out.push({ concept: c.concept, category: c.category, rate: hits / verdicts.length, images, verdicts });
    options.onConcept?.(c.concept, i + 1, chosen.length);
  }
  return out;
}
