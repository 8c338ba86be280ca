/**
 * The fluent erasure plan: `model.forget("zebra").forget("Van Gogh", { kind: "style" }).preserve("horse")`
 * describes what to do; `.savePatch(path)`, `.saveMerged(path)` or `.apply()` does it.
 *
 * Concepts given with the same settings are erased in one solve; steps with different settings run in
 * order, each editing the result of the one before, and compose into one Edit (one patch).
 *
 * @module
 */
import {
  type AdversarialRecord,
  closedFormErase,
  type ClosedFormReport,
} from "../methods/closed_form/erase.ts";
import {
  type ClosedFormSettings,
  type ConceptKind,
  defaultSettings,
} from "../methods/closed_form/defaults.ts";
import type { FactoredUpdate } from "../methods/closed_form/factored.ts";
import type { TokenConvention } from "../methods/closed_form/rows.ts";
import { loadArtists } from "../methods/closed_form/artists.ts";
import type { Edit } from "../patch/edit.ts";
import { writeLoraPatch } from "../patch/lora_file.ts";
import { applyEdit, assertDistinctOutput, writeMergedCheckpoint } from "../patch/merge.ts";
import type { Model } from "./model.ts";

/** Options of one `forget` step. Every default follows the reference settings for the concept's kind. */
export interface ForgetOptions {
  /** `rece` (default: UCE, then RECE's adversarial epochs) or `uce` alone. */
  method?: "uce" | "rece";
  /** `object` (default; also identities), `style` (artists: guide "art", other artists preserved), `nudity`, `unsafe`. */
  kind?: ConceptKind;
  /** What the concept is steered to (default " ", or "art" for styles). */
  guide?: string;
  /** Extra texts to preserve (added to the kind's default preserve set). */
  preserve?: string[];
  /** Weight of the preserve set (default 1, or 0.1 for styles). */
  preserveScale?: number;
  /** Weight of the edit rows (default 1). */
  eraseScale?: number;
  /** UCE ridge λ (default 0.5). */
  lambda?: number;
  /** RECE epochs (default 1; nudity 3, unsafe 2). */
  epochs?: number;
  /** RECE ridge of the adversarial-embedding solve (default 1e-3; nudity and unsafe 0.1). */
  receLambda?: number;
  /** `aligned` (default, the published UCE) or `last-token` (the current UCE code). */
  convention?: TokenConvention;
  /** 1 erases (default); between 0 and 1 moderates: moves the concept that share of the way to the guide. */
  strength?: number;
}

/** What running a plan produced. */
export interface ErasureResult {
  /** The combined edit of every step. */
  edit: Edit;
  /** One report per step. */
  reports: ClosedFormReport[];
  /** RECE's derived adversarial embeddings (an attack on the edited model). */
  adversarial: AdversarialRecord[];
  /** Seconds, all steps. */
  seconds: number;
}

/** Options of {@linkcode ErasurePlan.savePatch}. */
export interface SavePatchOptions {
  /** Truncate each ΔW to this rank (SVD); default exact. */
  rank?: number;
  /** Stored dtype (default F32). */
  dtype?: "F32" | "F16" | "BF16";
}

interface Step {
  concepts: string[];
  settings: ClosedFormSettings;
}

const NUDITY_WORDS = new Set(["nudity", "nude", "naked", "nsfw", "sexual"]);

function checkNumber(name: string, v: number | undefined, ok: (x: number) => boolean, what: string): void {
  if (v !== undefined && !(typeof v === "number" && ok(v))) {
    throw new RangeError(`${name} must be ${what}, got ${v}`);
  }
}

/** Resolves a step's settings from the kind's defaults and the user's options, validating them. */
export function resolveSettings(concepts: string[], options: ForgetOptions): ClosedFormSettings {
  for (const c of concepts) {
    if (typeof c !== "string" || !c.trim()) {
      throw new RangeError(`concept must be non-empty text, got ${JSON.stringify(c)}`);
    }
  }
  const kind = options.kind ??
    (concepts.every((c) => NUDITY_WORDS.has(c.toLowerCase()))
      ? "nudity"
      : options.guide === "art"
      ? "style"
      : "object");
  const s = defaultSettings(kind, options.method ?? "rece");
  checkNumber("lambda", options.lambda, (x) => x > 0, "positive");
  checkNumber("receLambda", options.receLambda, (x) => x > 0, "positive");
  checkNumber("preserveScale", options.preserveScale, (x) => x >= 0, "zero or more");
  checkNumber("eraseScale", options.eraseScale, (x) => x > 0, "positive");
  checkNumber(
    "epochs",
    options.epochs,
    (x) => Number.isInteger(x) && x >= 0 && x <= 100,
    "an integer from 0 to 100",
  );
  checkNumber("strength", options.strength, (x) => x > 0 && x <= 1, "in (0, 1]");
  if (options.method !== undefined && options.method !== "uce" && options.method !== "rece") {
    throw new RangeError(`method must be "uce" or "rece", got ${JSON.stringify(options.method)}`);
  }
  const out: ClosedFormSettings = {
    ...s,
    guide: options.guide ?? s.guide,
    preserve: [...s.preserve, ...(options.preserve ?? [])],
    preserveScale: options.preserveScale ?? s.preserveScale,
    eraseScale: options.eraseScale ?? s.eraseScale,
    lambda: options.lambda ?? s.lambda,
    receEpochs: options.epochs ?? s.receEpochs,
    receLambda: options.receLambda ?? s.receLambda,
    convention: options.convention ?? s.convention,
    strength: options.strength ?? s.strength,
  };
  for (const c of concepts) {
    const guides = out.guide.split(";");
    if (guides.some((g) => g.trim().toLowerCase() === c.trim().toLowerCase())) {
      throw new RangeError(`concept "${c}" equals its guide: nothing to erase it towards`);
    }
  }
  return out;
}

/**
 * An erasure plan. Build with `model.forget(...)`; nothing runs until `savePatch`, `saveMerged` or `apply`.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("v1-5-pruned-emaonly.safetensors");
 * const result = await model.forget("zebra").forget("Van Gogh", { kind: "style" }).savePatch("patch.safetensors");
 * console.log(result.reports[0].timings);
 * ```
 */
export class ErasurePlan {
  readonly #model: Model;
  readonly #steps: Step[] = [];
  readonly #extraPreserve: string[] = [];
  #result: Promise<ErasureResult> | null = null;
  #resultRank: number | undefined;

  /** A plan on `model` (use `model.forget`). */
  constructor(model: Model) {
    this.#model = model;
  }

  /** Adds concepts to erase (same settings as the previous call are solved together). */
  forget(concept: string | string[], options: ForgetOptions = {}): ErasurePlan {
    const concepts = Array.isArray(concept) ? concept : [concept];
    if (!concepts.length) throw new RangeError("forget: give at least one concept");
    const settings = resolveSettings(concepts, options);
    const last = this.#steps[this.#steps.length - 1];
    if (last && JSON.stringify(last.settings) === JSON.stringify(settings)) last.concepts.push(...concepts);
    else this.#steps.push({ concepts: [...concepts], settings });
    this.#result = null;
    return this;
  }

  /** Texts whose behaviour must not change, for every step. */
  preserve(...texts: string[]): ErasurePlan {
    for (const t of texts) if (typeof t !== "string") throw new TypeError("preserve: texts must be strings");
    this.#extraPreserve.push(...texts);
    this.#result = null;
    return this;
  }

  /** The steps as they will run (settings resolved), for inspection. */
  get steps(): ReadonlyArray<{ concepts: string[]; settings: ClosedFormSettings }> {
    return this.#steps;
  }

  /** Runs the plan (once; later calls reuse the result). */
  run(options: { rank?: number; onPhase?: (phase: string) => void } = {}): Promise<ErasureResult> {
    if (!this.#result || this.#resultRank !== options.rank) {
      this.#resultRank = options.rank;
      this.#result = this.#execute(options);
    }
    return this.#result;
  }

  async #execute(options: { rank?: number; onPhase?: (phase: string) => void }): Promise<ErasureResult> {
    if (!this.#steps.length) throw new Error("the plan is empty: call forget() first");
    const t0 = performance.now();
    const model = await this.#model.closedFormModel();
    const backend = await this.#model.computeBackend();
    const reports: ClosedFormReport[] = [];
    const adversarial: AdversarialRecord[] = [];
    let update: FactoredUpdate | undefined;
    let edit: Edit | undefined;
    const allConcepts: string[] = [];
    for (const step of this.#steps) {
      const settings = { ...step.settings, preserve: [...step.settings.preserve, ...this.#extraPreserve] };
      if (settings.guide === "art" && step.settings.preserveScale > 0) {
        const erased = new Set(step.concepts.map((c) => c.toLowerCase()));
        if (settings.preserve.length <= 1 + this.#extraPreserve.length) {
          settings.preserve.push(...(await loadArtists()).filter((a) => !erased.has(a.toLowerCase())));
        }
      }
      allConcepts.push(...step.concepts);
      const r = await closedFormErase(model, step.concepts, settings, {
        backend,
        cache: this.#model.cache,
        maxRank: options.rank,
        onPhase: options.onPhase,
        initial: update,
      });
      update = r.update;
      edit = r.edit;
      reports.push(r.report);
      adversarial.push(...r.adversarial);
    }
    const methods = [...new Set(this.#steps.map((s) => s.settings.method))].join("+");
    edit!.provenance = {
      ...edit!.provenance,
      method: methods,
      concepts: allConcepts,
      parameters: {
        steps: this.#steps.map((s) => ({
          concepts: s.concepts,
          ...s.settings,
          preserve: undefined,
          preserveCount: s.settings.preserve.length,
        })),
        extraPreserve: this.#extraPreserve,
      },
    };
    return { edit: edit!, reports, adversarial, seconds: (performance.now() - t0) / 1000 };
  }

  /** Runs the plan and writes a kohya-style LoRA patch (AUTOMATIC1111, ComfyUI, diffusers). */
  async savePatch(
    path: string,
    options: SavePatchOptions = {},
  ): Promise<ErasureResult & { patchBytes: number }> {
    assertDistinctOutput(this.#model.checkpoint.path, path);
    const result = await this.run({ rank: options.rank });
    const { bytes } = await writeLoraPatch(path, result.edit, this.#model.checkpoint, {
      dtype: options.dtype,
    });
    return { ...result, patchBytes: bytes };
  }

  /** Runs the plan and writes a merged checkpoint in the model's layout and dtype. */
  async saveMerged(path: string, options: { scale?: number } = {}): Promise<ErasureResult> {
    assertDistinctOutput(this.#model.checkpoint.path, path);
    const result = await this.run();
    await writeMergedCheckpoint(this.#model.checkpoint, result.edit, path, options);
    return result;
  }

  /** Runs the plan and returns the edited weights in memory (diffusers names → float32). */
  async apply(): Promise<Map<string, Float32Array>> {
    const result = await this.run();
    return await applyEdit(this.#model.checkpoint.unet, result.edit);
  }
}
