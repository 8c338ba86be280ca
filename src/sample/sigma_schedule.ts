/**
 * The σ schedule of the Euler, Euler ancestral and LMS samplers (diffusers' k-diffusion-style
 * schedulers): spaced timesteps, their interpolated sigmas or the Karras ramp, a final σ of 0, and the
 * initial-noise scale; and their common base class.
 *
 * @module
 */

import {
  alphasCumprod,
  interpolateTable,
  karrasSigmas,
  sigmaToTimestep,
  spacedTimesteps,
  trainSigmas,
} from "./noise_schedule.ts";
import { predictOriginalFromSigma, SchedulerBase } from "./scheduler_base.ts";
import type { SchedulerConfig } from "./scheduler.ts";

/** Timesteps, sigmas (one per step plus a final 0) and the initial-noise σ. */
export interface SigmaSchedule {
  /** The timestep given to the network at each step (fractional with Karras sigmas). */
  timesteps: number[];
  /** σ at each step, then 0. */
  sigmas: number[];
  /** Standard deviation of the initial latents. */
  initNoiseSigma: number;
}

/**
 * The schedule for `steps` inference steps.
 *
 * @example
 * ```ts
 * import { sigmaSchedule } from "./sigma_schedule.ts";
 * import { SD_SCHEDULER_CONFIG } from "./scheduler.ts";
 * const { timesteps, sigmas } = sigmaSchedule(SD_SCHEDULER_CONFIG, 10);
 * ```
 */
export function sigmaSchedule(config: Readonly<SchedulerConfig>, steps: number): SigmaSchedule {
  const ac = alphasCumprod(config.betaSchedule, config.betaStart, config.betaEnd, config.numTrainTimesteps);
  const train = trainSigmas(ac);
  let timesteps = spacedTimesteps(
    config.timestepSpacing,
    config.numTrainTimesteps,
    steps,
    config.stepsOffset,
    false,
  );
  let sigmas = timesteps.map((t) => interpolateTable(t, train));
  if (config.useKarrasSigmas) {
    sigmas = karrasSigmas(sigmas[sigmas.length - 1], sigmas[0], steps);
    const logSigmas = train.map(Math.log);
    timesteps = sigmas.map((s) => Math.fround(sigmaToTimestep(s, logSigmas)));
  }
  sigmas = [...sigmas, 0].map(Math.fround);
  const max = Math.max(...sigmas);
  const spread = config.timestepSpacing === "linspace" || config.timestepSpacing === "trailing";
  const initNoiseSigma = spread ? max : Math.fround(Math.sqrt(Math.fround(max * max) + 1));
  return { timesteps, sigmas, initNoiseSigma };
}

/**
 * Base of the σ-parameterised samplers (Euler, Euler ancestral, LMS): the σ schedule and the input scaling
 * `latents / √(σ² + 1)`.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const euler = createScheduler("euler", {}, 10); // a SigmaScheduler
 * euler.scaleModelInput(new Float32Array(4).fill(1), 0);
 * ```
 */
export abstract class SigmaScheduler extends SchedulerBase {
  /** The schedule for `steps` steps. */
  protected constructor(config: Readonly<SchedulerConfig>, steps: number, needsNoise: boolean) {
    const s = sigmaSchedule(config, steps);
    super(config, s.timesteps, s.sigmas, s.initNoiseSigma, needsNoise);
  }

  /** `latents / √(σ² + 1)`. */
  override scaleModelInput(latents: Float32Array, stepIndex: number): Float32Array {
    this.checkIndex(stepIndex, "scaleModelInput");
    const sigma = this.sigmas![stepIndex];
    const k = 1 / Math.sqrt(sigma * sigma + 1);
    const out = new Float32Array(latents.length);
    for (let i = 0; i < out.length; i++) out[i] = latents[i] * k;
    return out;
  }

  /** The ODE derivative (x − x₀)/σ at step `stepIndex`, for every element. */
  protected derivative(modelOutput: Float32Array, stepIndex: number, latents: Float32Array): Float32Array {
    const sigma = this.sigmas![stepIndex];
    // x₀ = a·x + b·out (see predictOriginalFromSigma), so (x − x₀)/σ = ((1 − a)·x − b·out)/σ.
    const a = predictOriginalFromSigma(this.config.predictionType, sigma, 1, 0);
    const b = predictOriginalFromSigma(this.config.predictionType, sigma, 0, 1);
    const ka = (1 - a) / sigma, kb = -b / sigma;
    const d = new Float32Array(latents.length);
    for (let i = 0; i < d.length; i++) d[i] = ka * latents[i] + kb * modelOutput[i];
    return d;
  }
}
