/**
 * The SDK's entry point: `loadModel(path)` opens a checkpoint, and `model.forget(...)` starts a plan.
 *
 * @module
 */
import { type Checkpoint, loadCheckpoint } from "../formats/checkpoint.ts";
import type { Backend } from "../../kernels/backend.ts";
import { closedFormModel } from "../methods/closed_form/checkpoint_model.ts";
import type { ClosedFormModel } from "../methods/closed_form/erase.ts";
import { GramCache } from "../methods/closed_form/gram_cache.ts";
import { type BackendChoices, computeBackend, parseBackends } from "./backends.ts";
import { ErasurePlan, type ForgetOptions } from "./plan.ts";
import { type GeneratedImage, generateImages, type GenerateOptions } from "../sample/generate.ts";
import { loadPatchWeights } from "../sample/patch_weights.ts";
import type { PatchWeights } from "../models/unet_runner.ts";

/** Options of {@linkcode Model.generate}: those of `generateImages`, with a patch given by path too. */
export interface ModelGenerateOptions extends Omit<GenerateOptions, "prompts" | "patch" | "backend"> {
  /** A LoRA patch file (checked against this base model) or patched weights; absent: the base model. */
  patch?: string | PatchWeights | null;
  /** Strength of a patch given by path (default 1). */
  patchScale?: number;
  /** Use a patch made for another base model anyway. */
  force?: boolean;
}

/** Options of {@linkcode loadModel}. */
export interface LoadModelOptions {
  /** `--backend` value: `auto`/`cpu`/`webgpu` and/or `ort-web`/`ort-node` (default `auto,ort-web`). */
  backend?: string;
  /** Cache folder for Gram matrices (default `~/.cache/forget`); `null` keeps them in memory only. */
  cacheDir?: string | null;
  /** Where warnings go (default `console.warn`). */
  warn?: (message: string) => void;
}

/**
 * A Stable Diffusion model opened for editing.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("v1-5-pruned-emaonly.safetensors");
 * await model.forget("Van Gogh", { kind: "style", method: "rece" }).savePatch("no-van-gogh.safetensors");
 * model.close();
 * ```
 */
export class Model {
  /** The checkpoint (family, layout, lazy tensors). */
  readonly checkpoint: Checkpoint;
  /** Backends in use. */
  readonly backends: BackendChoices;
  /** Gram matrix cache shared by this model's plans. */
  readonly cache: GramCache;
  /** Warning sink. */
  readonly warn: (message: string) => void;
  #compute: Promise<Backend> | null = null;
  #closedForm: Promise<ClosedFormModel> | null = null;

  /** Use {@linkcode loadModel}. */
  constructor(checkpoint: Checkpoint, options: LoadModelOptions = {}) {
    this.checkpoint = checkpoint;
    this.backends = parseBackends(options.backend);
    this.cache = new GramCache(options.cacheDir === undefined ? undefined : options.cacheDir);
    this.warn = options.warn ?? ((m) => console.warn(m));
  }

  /** `sd15`, `sd21` or `sdxl`. */
  get family(): Checkpoint["family"] {
    return this.checkpoint.family;
  }

  /** The compute backend (created on first use). */
  computeBackend(): Promise<Backend> {
    return this.#compute ??= computeBackend(this.backends);
  }

  /** The model as the closed-form methods see it (weights read and text encoder prepared on first use). */
  closedFormModel(): Promise<ClosedFormModel> {
    return this.#closedForm ??= closedFormModel(this.checkpoint, {
      runtime: this.backends.runtime,
      warn: this.warn,
      modelCache: this.cache.dir ? { dir: this.cache.dir } : null,
    });
  }

  /**
   * Starts a plan that erases `concept` (or several). Chain `.forget()`, `.preserve()`, then run it with
   * `.savePatch(path)`, `.saveMerged(path)` or `.apply()`.
   */
  forget(concept: string | string[], options: ForgetOptions = {}): ErasurePlan {
    return new ErasurePlan(this).forget(concept, options);
  }

  /**
   * Generates one image per prompt and seed (text encoders, UNet and VAE on the `ort-web`/`ort-node`
   * backend chosen at load). Each result's `image` can be saved (`writePng`), put in a grid
   * (`imageGrid`, or `generatedGrid`), or shown in a notebook (`notebookImage`).
   *
   * @example
   * ```ts ignore
   * import { loadModel } from "./model.ts";
   * import { writePng } from "../image/png_write.ts";
   * const model = await loadModel("v1-5-pruned-emaonly.safetensors", { backend: "ort-node" });
   * const [cat] = await model.generate("a cat", { seeds: [42], steps: 25, patch: "no-cats.safetensors" });
   * await writePng("cat.png", cat.image);
   * ```
   */
  async generate(prompt: string | string[], options: ModelGenerateOptions = {}): Promise<GeneratedImage[]> {
    const { patch, patchScale, force, ...rest } = options;
    const weights = typeof patch === "string"
      ? await loadPatchWeights(this.checkpoint, patch, { scale: patchScale, force, note: this.warn })
      : patch ?? null;
    return await generateImages(this.checkpoint, {
      ...rest,
      prompts: Array.isArray(prompt) ? prompt : [prompt],
      patch: weights,
      backend: this.backends.runtime,
      warn: rest.warn ?? this.warn,
    });
  }

  /** Releases files and the compute device. */
  close(): void {
    this.checkpoint.close();
    this.#compute?.then((b) => b.dispose()).catch(() => {});
  }
}

/**
 * Opens a checkpoint (single-file `.safetensors` or diffusers folder) for editing.
 *
 * @example
 * ```ts ignore
 * import { loadModel } from "./model.ts";
 * const model = await loadModel("sd_xl_base_1.0.safetensors", { backend: "auto,ort-node" });
 * ```
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<Model> {
  return new Model(await loadCheckpoint(path), options);
}
