/**
 * What every scheduler shares: checking that steps come in order and that arrays match, and turning a
 * {@linkcode StepNoise} into numbers.
 *
 * @module
 */

import type { Scheduler, SchedulerConfig, SchedulerKind, StepNoise } from "./scheduler.ts";

/**
 * Base class of the schedulers: keeps the step counter and validates arguments.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const s = createScheduler("euler", {}, 10); // a SchedulerBase subclass
 * ```
 */
export abstract class SchedulerBase implements Scheduler {
  /** Which sampler this is. */
  abstract readonly kind: SchedulerKind;
  /** The settings it was built with. */
  readonly config: Readonly<SchedulerConfig>;
  /** The timestep to give the network at each step. */
  readonly timesteps: readonly number[];
  /** σ per step plus the final σ, or null. */
  readonly sigmas: readonly number[] | null;
  /** Standard deviation of the initial latents. */
  readonly initNoiseSigma: number;
  /** Whether `step` needs noise. */
  readonly needsNoise: boolean;
  #nextStep = 0;

  /** Stores the schedule; subclasses compute it. */
  protected constructor(
    config: Readonly<SchedulerConfig>,
    timesteps: readonly number[],
    sigmas: readonly number[] | null,
    initNoiseSigma: number,
    needsNoise: boolean,
  ) {
    this.config = config;
    this.timesteps = Object.freeze([...timesteps]);
    this.sigmas = sigmas === null ? null : Object.freeze([...sigmas]);
    this.initNoiseSigma = initNoiseSigma;
    this.needsNoise = needsNoise;
  }

  /** The network's input at step `stepIndex` (a copy unless the sampler scales it). */
  scaleModelInput(latents: Float32Array, stepIndex: number): Float32Array {
    this.checkIndex(stepIndex, "scaleModelInput");
    return latents.slice();
  }

  /** The latents after step `stepIndex`. */
  step(modelOutput: Float32Array, stepIndex: number, latents: Float32Array, noise?: StepNoise): Float32Array {
    this.checkIndex(stepIndex, "step");
    if (stepIndex !== this.#nextStep) {
      throw new Error(
        `${this.kind} scheduler: step(${stepIndex}) called, but the next step is ${this.#nextStep} ` +
          "(steps run in order 0, 1, 2, …; make a new scheduler to start again)",
      );
    }
    if (modelOutput.length !== latents.length) {
      throw new Error(
        `${this.kind} scheduler: modelOutput has ${modelOutput.length} values but latents have ${latents.length}`,
      );
    }
    const out = this.compute(modelOutput, stepIndex, latents, noise);
    this.#nextStep++;
    return out;
  }

  /** The sampler's update; arguments are already validated. */
  protected abstract compute(
    modelOutput: Float32Array,
    stepIndex: number,
    latents: Float32Array,
    noise: StepNoise | undefined,
  ): Float32Array;

  /** Throws unless `stepIndex` is a valid step. */
  protected checkIndex(stepIndex: number, method: string): void {
    if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= this.timesteps.length) {
      throw new Error(
        `${this.kind} scheduler: ${method} stepIndex ${stepIndex} is outside 0…${this.timesteps.length - 1}`,
      );
    }
  }

  /** `n` noise values for this step: drawn from a noise source, or the given array after a length check. */
  protected noiseValues(noise: StepNoise | undefined, n: number): Float32Array {
    if (noise === undefined) {
      throw new Error(
        `${this.kind} scheduler: this step adds noise; pass a noise source (TorchGenerator, Random) or a Float32Array`,
      );
    }
    if (!(noise instanceof Float32Array)) return noise.fillNormal(new Float32Array(n));
    if (noise.length !== n) {
      throw new Error(`${this.kind} scheduler: noise has ${noise.length} values but latents have ${n}`);
    }
    return noise;
  }
}

/**
 * x₀ predicted from a σ-parameterised sample (x = x₀ + σ·ε) and the network output, for Euler, Euler
 * ancestral and LMS: ε → x − σ·out; v → out·(−σ/√(σ²+1)) + x/(σ²+1).
 *
 * @example
 * ```ts
 * import { predictOriginalFromSigma } from "./scheduler_base.ts";
 * predictOriginalFromSigma("epsilon", 2, 1, 0.5); // 1
 * ```
 */
export function predictOriginalFromSigma(
  predictionType: SchedulerConfig["predictionType"],
  sigma: number,
  sample: number,
  modelOutput: number,
): number {
  if (predictionType === "epsilon") return sample - sigma * modelOutput;
  return modelOutput * (-sigma / Math.sqrt(sigma * sigma + 1)) + sample / (sigma * sigma + 1);
}
