/**
 * The sampling loop, independent of the network: scale the latents for the model, ask a prediction
 * function for the model output at each timestep, and let the scheduler step. The UNet (with or without
 * classifier-free guidance) plugs in as the prediction function.
 *
 * @module
 */

import { classifierFreeGuidance } from "./guidance.ts";
import type { Scheduler, StepNoise } from "./scheduler.ts";

/** The model output for the scaled latents at one timestep (e.g. the UNet's ε or v prediction). */
export type Predict = (
  input: Float32Array,
  timestep: number,
  stepIndex: number,
) => Promise<Float32Array> | Float32Array;

/** Progress of a {@linkcode denoise} run, reported after each step. */
export interface DenoiseProgress {
  /** The step just taken (0-based). */
  stepIndex: number;
  /** Number of steps (network evaluations) in the run. */
  total: number;
  /** The timestep of that step. */
  timestep: number;
  /** The latents after it. */
  latents: Float32Array;
}

/** Settings of {@linkcode denoise}. */
export interface DenoiseOptions {
  /** A fresh scheduler (schedulers are stateful: use each for one run). */
  scheduler: Scheduler;
  /** Initial latents, already scaled by `scheduler.initNoiseSigma` (see {@linkcode initialLatents}). */
  latents: Float32Array;
  /** The network. */
  predict: Predict;
  /** Noise for stochastic schedulers (a seeded `TorchGenerator` or `Random`, usually). */
  noise?: StepNoise;
  /** Called after every step, e.g. for a progress bar or intermediate previews. */
  onStep?: (progress: DenoiseProgress) => void;
  /** Stops the run between steps. */
  signal?: AbortSignal;
}

/**
 * Runs the whole sampling loop and returns the final latents (for the VAE decoder).
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * import { denoise, guided } from "./denoise.ts";
 * import { initialLatents } from "./latents.ts";
 * const scheduler = createScheduler("dpm++2m", { useKarrasSigmas: true }, 20);
 * const unet = (x: Float32Array) => [x.map(() => 0), x.map((v) => v * 0.01)] as const; // [uncond, cond]
 * const latents = await denoise({
 *   scheduler,
 *   latents: initialLatents([1, 4, 8, 8], 42, scheduler.initNoiseSigma),
 *   predict: guided(unet, 7.5),
 * });
 * ```
 */
export async function denoise(options: DenoiseOptions): Promise<Float32Array> {
  const { scheduler, predict, noise, onStep, signal } = options;
  let latents = options.latents;
  const total = scheduler.timesteps.length;
  if (scheduler.needsNoise && noise === undefined) {
    throw new Error(`denoise: the ${scheduler.kind} scheduler adds noise at each step; pass options.noise`);
  }
  for (let i = 0; i < total; i++) {
    signal?.throwIfAborted();
    const timestep = scheduler.timesteps[i];
    const output = await predict(scheduler.scaleModelInput(latents, i), timestep, i);
    if (output.length !== latents.length) {
      throw new Error(
        `denoise: predict returned ${output.length} values at step ${i}, latents have ${latents.length}`,
      );
    }
    latents = scheduler.step(output, i, latents, noise);
    onStep?.({ stepIndex: i, total, timestep, latents });
  }
  return latents;
}

/** A network evaluated without and with the prompt: returns [unconditional, conditional] outputs. */
export type PredictPair = (
  input: Float32Array,
  timestep: number,
  stepIndex: number,
) => Promise<readonly [Float32Array, Float32Array]> | readonly [Float32Array, Float32Array];

/**
 * A {@linkcode Predict} applying classifier-free guidance with `scale` to a network that returns
 * [unconditional, conditional] outputs.
 *
 * @example
 * ```ts
 * import { guided } from "./denoise.ts";
 * const predict = guided((x) => [x.map(() => 0), x.map(() => 1)] as const, 7.5);
 * ```
 */
export function guided(pair: PredictPair, scale: number): Predict {
  return async (input, timestep, stepIndex) => {
    const [uncond, cond] = await pair(input, timestep, stepIndex);
    return classifierFreeGuidance(uncond, cond, scale);
  };
}
