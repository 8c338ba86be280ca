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
import {
  checkSettings as checkFmnSettings,
  FMN_DEFAULTS,
  fmnErase,
  type FmnReport,
  type FmnSettings,
} from "../methods/fmn/fmn.ts";
import type { EosPolicy } from "../methods/fmn/concept_positions.ts";
import type { RowPenalty } from "../../kernels/backend.ts";

/** Options of one `forget` step. Every default follows the reference settings for the concept's kind. */
export interface ForgetOptions {
  /**
   * `rece` (default: UCE, then RECE's adversarial epochs), `uce` alone, or `fmn` (Forget-Me-Not attention
   * re-steering; a plan is either closed-form or Forget-Me-Not).
   */
  method?: "uce" | "rece" | "fmn";
  /** FMN: a folder of PNG reference images (default: images the model generates from the concept's prompt). */
  images?: string;
  /** FMN: training steps per concept (default 35). */
  steps?: number;
  /** FMN: AdamW learning rate (default 2e-6, the reference recipe). */
  lr?: number;
  /** FMN: `global` (one L2 norm over all layers, the reference) or `per-layer`. */
  fmnLoss?: "global" | "per-layer";
  /** FMN: `squares` (the reference: Σ P² on the marked positions) or `mass` ((Σ P)², however spread). */
  penalty?: RowPenalty;
  /** FMN: end-of-text positions re-steered too: `all` (reference), `first`, `none`, or `after` (every position from the concept on). */
  eos?: EosPolicy;
  /** FMN: generated reference images per concept (default 4). */
  imageCount?: number;
  /** FMN: largest relative error of the exported low-rank deltas (default 1e-2). */
  tolerance?: number;
  /** FMN: prompt templates, `{}` = the concept (default the reference's one per kind). */
  templates?: string[];
  /** FMN: which projections train, `qk` (default) or `k`. */
  fmnScope?: "qk" | "k";
  /** FMN: relative ridge of key preservation (default 0.05; used when texts are preserved). */
  preserveRidge?: number;
  /**
   * FMN with `preserve` and scope `qk`: also confine to_q's change to query directions the preserved prompts'
   * keys hardly meet (default true).
   */
  preserveQueries?: boolean;
  /**
   * FMN with `preserve`: weight of attention anchoring (default 0, off) — the preserved texts' own
   * cross-attention, on images the model draws of them, is held to the base model's by a penalty.
   */
  preserveAttention?: number;
  /** FMN with `preserve`: key (and query) preservation by projection (default true). */
  preserveKeys?: boolean;
  /** FMN: seed (default 0). */
  seed?: number;
  /** `object` (default; also identities), `style` (artists: guide "art", other artists preserved), `nudity`, `unsafe`. */
  kind?: ConceptKind;
  /** What the concept is steered to (default " ", or "art" for styles). */
  guide?: string;
  /** Extra texts to preserve (closed-form: added to the kind's default preserve set; FMN: key preservation). */
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

/** Options of {@linkcode ErasurePlan.run}. */
export interface RunOptions {
  /** Truncate each ΔW of a closed-form edit to this rank. */
  rank?: number;
  /** Called when a phase starts. */
  onPhase?: (phase: string) => void;
  /** Forget-Me-Not: called after each training step. */
  onStep?: (step: number, steps: number, loss: number) => void;
}

/** What running a plan produced. */
export interface ErasureResult {
  /** The combined edit of every step. */
  edit: Edit;
  /** One report per closed-form step. */
  reports: ClosedFormReport[];
  /** The Forget-Me-Not report, for an fmn plan. */
  fmnReport?: FmnReport;
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
  /** Present for Forget-Me-Not steps. */
  fmn?: FmnSettings;
}

/** Every concept must be non-empty text. */
function checkConcepts(concepts: string[]): void {
  for (const c of concepts) {
    if (typeof c !== "string" || !c.trim()) {
      throw new RangeError(`concept must be non-empty text, got ${JSON.stringify(c)}`);
    }
  }
}

/** Forget-Me-Not settings from the options (reference defaults), validated. */
export function resolveFmnSettings(concepts: string[], options: ForgetOptions): FmnSettings {
  checkConcepts(concepts);
  const kind = options.kind === "style" ? "style" : "object";
  const s: FmnSettings = {
    ...FMN_DEFAULTS,
    kind,
    steps: options.steps ?? FMN_DEFAULTS.steps,
    lr: options.lr ?? FMN_DEFAULTS.lr,
    loss: options.fmnLoss ?? FMN_DEFAULTS.loss,
    penalty: options.penalty ?? FMN_DEFAULTS.penalty,
    eos: options.eos ?? FMN_DEFAULTS.eos,
    imageCount: options.imageCount ?? FMN_DEFAULTS.imageCount,
    tolerance: options.tolerance ?? FMN_DEFAULTS.tolerance,
    seed: options.seed ?? FMN_DEFAULTS.seed,
    scope: options.fmnScope ?? FMN_DEFAULTS.scope,
    preserve: [...(options.preserve ?? [])],
    preserveRidge: options.preserveRidge ?? FMN_DEFAULTS.preserveRidge,
    preserveQueries: options.preserveQueries ?? FMN_DEFAULTS.preserveQueries,
    preserveAttention: options.preserveAttention ?? FMN_DEFAULTS.preserveAttention,
    preserveKeys: options.preserveKeys ?? FMN_DEFAULTS.preserveKeys,
    ...(options.templates ? { templates: [...options.templates] } : {}),
    ...(options.images ? { images: options.images } : {}),
  };
  checkFmnSettings(s);
  return s;
}

const NUDITY_WORDS = new Set(["nudity", "nude", "naked", "nsfw", "sexual"]);

function checkNumber(name: string, v: number | undefined, ok: (x: number) => boolean, what: string): void {
  if (v !== undefined && !(typeof v === "number" && ok(v))) {
    throw new RangeError(`${name} must be ${what}, got ${v}`);
  }
}

/** Resolves a step's settings from the kind's defaults and the user's options, validating them. */
export function resolveSettings(concepts: string[], options: ForgetOptions): ClosedFormSettings {
  checkConcepts(concepts);
  const kind = options.kind ??
    (concepts.every((c) => NUDITY_WORDS.has(c.toLowerCase()))
      ? "nudity"
      : options.guide === "art"
      ? "style"
      : "object");
  const s = defaultSettings(kind, options.method === "uce" ? "uce" : "rece");
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
  if (options.method !== undefined && !["uce", "rece", "fmn"].includes(options.method)) {
    throw new RangeError(`method must be "uce", "rece" or "fmn", got ${JSON.stringify(options.method)}`);
  }
  const out: ClosedFormSettings = {
    ...s,
    guide: options.guide ?? s.guide,
    preserve: [...s.preserve, ...(options.preserve ?? [])],
    // What the user asks to keep is kept through RECE's re-edits too.
    recePreserve: [...s.recePreserve, ...(options.preserve ?? [])],
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
    const isFmn = options.method === "fmn";
    if (this.#steps.length && isFmn !== !!this.#steps[0].fmn) {
      throw new Error(
        "a plan is either closed-form (uce, rece) or Forget-Me-Not (fmn): start another plan for the other",
      );
    }
    const settings = resolveSettings(concepts, { ...options, method: isFmn ? "uce" : options.method });
    const fmn = isFmn ? resolveFmnSettings(concepts, options) : undefined;
    const last = this.#steps[this.#steps.length - 1];
    const same = last && JSON.stringify([last.settings, last.fmn]) === JSON.stringify([settings, fmn]);
    if (same) last.concepts.push(...concepts);
    else if (fmn && last) {
      throw new Error("Forget-Me-Not concepts in one plan must share their settings (they train together)");
    } else this.#steps.push({ concepts: [...concepts], settings, fmn });
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
  run(options: RunOptions = {}): Promise<ErasureResult> {
    if (!this.#result || this.#resultRank !== options.rank) {
      this.#resultRank = options.rank;
      this.#result = this.#execute(options);
    }
    return this.#result;
  }

  async #execute(options: RunOptions): Promise<ErasureResult> {
    if (!this.#steps.length) throw new Error("the plan is empty: call forget() first");
    const t0 = performance.now();
    const fmnStep = this.#steps[0].fmn;
    if (fmnStep) {
      const backend = await this.#model.computeBackend();
      const preserve = [...fmnStep.preserve, ...this.#extraPreserve];
      const r = await fmnErase(this.#model.checkpoint, this.#steps[0].concepts, { ...fmnStep, preserve }, {
        backend,
        runtime: this.#model.backends.runtime,
        onPhase: options.onPhase,
        onStep: options.onStep,
      });
      return {
        edit: r.edit,
        reports: [],
        fmnReport: r.report,
        adversarial: [],
        seconds: (performance.now() - t0) / 1000,
      };
    }
    const model = await this.#model.closedFormModel();
    const backend = await this.#model.computeBackend();
    const reports: ClosedFormReport[] = [];
    const adversarial: AdversarialRecord[] = [];
    let update: FactoredUpdate | undefined;
    let edit: Edit | undefined;
    const allConcepts: string[] = [];
    for (const step of this.#steps) {
      const settings = {
        ...step.settings,
        preserve: [...step.settings.preserve, ...this.#extraPreserve],
        recePreserve: [...step.settings.recePreserve, ...this.#extraPreserve],
      };
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
