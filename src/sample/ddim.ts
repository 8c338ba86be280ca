/**
 * DDIM (Song et al. 2020), as diffusers' `DDIMScheduler`: deterministic for η = 0, adding noise of
 * standard deviation η·√var for η > 0.
 *
 * @module
 */

import { alphasCumprod, spacedTimesteps } from "./noise_schedule.ts";
import { SchedulerBase } from "./scheduler_base.ts";
import type { SchedulerConfig, SchedulerKind, StepNoise } from "./scheduler.ts";

/**
 * The DDIM sampler. Build it with {@linkcode createScheduler}.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const ddim = createScheduler("ddim", { predictionType: "v_prediction" }, 25);
 * ```
 */
export class DdimScheduler extends SchedulerBase {
  /** Always `"ddim"`. */
  readonly kind: SchedulerKind = "ddim";
  #alphas: Float64Array;
  #finalAlpha: number;
  #stride: number;

  /** The schedule for `steps` steps. */
  constructor(config: Readonly<SchedulerConfig>, steps: number) {
    if (steps > config.numTrainTimesteps) {
      throw new Error(
        `ddim scheduler: ${steps} steps exceed the ${config.numTrainTimesteps} training timesteps`,
      );
    }
    const timesteps = spacedTimesteps(
      config.timestepSpacing,
      config.numTrainTimesteps,
      steps,
      config.stepsOffset,
      true,
    );
    super(config, timesteps, null, 1, config.eta > 0);
    this.#alphas = alphasCumprod(
      config.betaSchedule,
      config.betaStart,
      config.betaEnd,
      config.numTrainTimesteps,
    );
    this.#finalAlpha = config.setAlphaToOne ? 1 : this.#alphas[0];
    // diffusers steps back by T / steps whatever the spacing.
    this.#stride = Math.floor(config.numTrainTimesteps / steps);
  }

  protected compute(
    modelOutput: Float32Array,
    stepIndex: number,
    latents: Float32Array,
    noise: StepNoise | undefined,
  ): Float32Array {
    const t = this.timesteps[stepIndex];
    const prev = t - this.#stride;
    const alphaT = this.#alphas[t];
    const alphaPrev = prev >= 0 ? this.#alphas[prev] : this.#finalAlpha;
    const betaT = 1 - alphaT;
    const { predictionType, clipSample, clipSampleRange, eta } = this.config;
    const variance = (1 - alphaPrev) / betaT * (1 - alphaT / alphaPrev);
    const std = eta * Math.sqrt(variance);
    const direction = Math.sqrt(1 - alphaPrev - std * std);
    const sa = Math.sqrt(alphaT), sb = Math.sqrt(betaT), sp = Math.sqrt(alphaPrev);
    const z = std > 0 ? this.noiseValues(noise, latents.length) : null;
    const out = new Float32Array(latents.length);
    for (let i = 0; i < out.length; i++) {
      const x = latents[i], m = modelOutput[i];
      let x0: number, eps: number;
      if (predictionType === "epsilon") {
        x0 = (x - sb * m) / sa;
        eps = m;
      } else {
        x0 = sa * x - sb * m;
        eps = sa * m + sb * x;
      }
      if (clipSample) x0 = Math.min(clipSampleRange, Math.max(-clipSampleRange, x0));
      out[i] = sp * x0 + direction * eps + (z === null ? 0 : std * z[i]);
    }
    return out;
  }
}
