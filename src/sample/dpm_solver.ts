/**
 * DPM-Solver++ (Lu et al. 2022) multistep, 1st or 2nd order ("DPM++ 2M"; with Karras sigmas "DPM++ 2M
 * Karras"), as diffusers' `DPMSolverMultistepScheduler` with `algorithm_type: "dpmsolver++"`. The model
 * output is converted to a data prediction x₀ and the update is exact in log-SNR λ = log(α/σ).
 *
 * @module
 */

import {
  alphasCumprod,
  arange,
  interpolateTable,
  karrasSigmas,
  linspace,
  roundHalfEven,
  sigmaToTimestep,
  trainSigmas,
} from "./noise_schedule.ts";
import { SchedulerBase } from "./scheduler_base.ts";
import type { SchedulerConfig, SchedulerKind } from "./scheduler.ts";

/**
 * The DPM-Solver++ multistep sampler. Build it with {@linkcode createScheduler}.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const dpm = createScheduler("dpm++2m", { useKarrasSigmas: true }, 25); // DPM++ 2M Karras
 * ```
 */
export class DpmSolverScheduler extends SchedulerBase {
  /** Always `"dpm++2m"`. */
  readonly kind: SchedulerKind = "dpm++2m";
  #previous: Float32Array | null = null;
  #lowerOrderNums = 0;

  /** The schedule for `steps` steps. */
  constructor(config: Readonly<SchedulerConfig>, steps: number) {
    const { timesteps, sigmas } = dpmSchedule(config, steps);
    super(config, timesteps, sigmas, 1, false);
  }

  protected compute(modelOutput: Float32Array, stepIndex: number, latents: Float32Array): Float32Array {
    const { predictionType, solverOrder, solverType } = this.config;
    // The final σ is 0 (diffusers' "zero" final_sigmas_type), which makes the last step first order; with
    // order ≤ 2 that also covers diffusers' lower_order_final and euler_at_final.
    const lastStep = stepIndex === this.timesteps.length - 1;
    const s0 = alphaSigma(this.sigmas![stepIndex]);
    const x0 = new Float32Array(latents.length);
    for (let i = 0; i < x0.length; i++) {
      x0[i] = predictionType === "epsilon"
        ? (latents[i] - s0.sigma * modelOutput[i]) / s0.alpha
        : s0.alpha * latents[i] - s0.sigma * modelOutput[i];
    }
    const t = alphaSigma(this.sigmas![stepIndex + 1]);
    const h = t.lambda - s0.lambda;
    const ratio = t.sigma / s0.sigma, expm = Math.exp(-h) - 1;
    const out = new Float32Array(latents.length);
    if (solverOrder === 1 || this.#lowerOrderNums < 1 || lastStep) {
      for (let i = 0; i < out.length; i++) out[i] = ratio * latents[i] - t.alpha * expm * x0[i];
    } else {
      const s1 = alphaSigma(this.sigmas![stepIndex - 1]);
      const r0 = (s0.lambda - s1.lambda) / h;
      const prev = this.#previous!;
      const d1Weight = solverType === "midpoint" ? -0.5 * t.alpha * expm : t.alpha * (expm / h + 1);
      for (let i = 0; i < out.length; i++) {
        const d1 = (x0[i] - prev[i]) / r0;
        out[i] = ratio * latents[i] - t.alpha * expm * x0[i] + d1Weight * d1;
      }
    }
    this.#previous = x0;
    if (this.#lowerOrderNums < solverOrder) this.#lowerOrderNums++;
    return out;
  }
}

/** α_t = 1/√(σ²+1), σ_t = σ·α_t and λ = log α_t − log σ_t of a σ (λ = +∞ at σ = 0). */
function alphaSigma(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const s = sigma * alpha;
  return { alpha, sigma: s, lambda: Math.log(alpha) - Math.log(s) };
}

/**
 * DPM-Solver's own timestep spacing (it splits the range into steps + 1 parts for `leading` and
 * `linspace`) and its sigmas, ending with σ = 0.
 *
 * @example
 * ```ts
 * import { dpmSchedule } from "./dpm_solver.ts";
 * import { SD_SCHEDULER_CONFIG } from "./scheduler.ts";
 * dpmSchedule(SD_SCHEDULER_CONFIG, 10).timesteps; // [901, 811, …, 91]
 * ```
 */
export function dpmSchedule(
  config: Readonly<SchedulerConfig>,
  steps: number,
): { timesteps: number[]; sigmas: number[] } {
  const T = config.numTrainTimesteps;
  let timesteps: number[];
  if (config.timestepSpacing === "linspace") {
    timesteps = linspace(0, T - 1, steps + 1).map(roundHalfEven).reverse().slice(0, -1);
  } else if (config.timestepSpacing === "leading") {
    const ratio = Math.floor(T / (steps + 1));
    timesteps = arange(0, steps + 1, 1).map((i) => i * ratio).reverse().slice(0, -1).map((t) =>
      t + config.stepsOffset
    );
  } else if (config.timestepSpacing === "trailing") {
    timesteps = arange(T, 0, -T / steps).map((x) => roundHalfEven(x) - 1);
  } else {
    throw new Error(`timestep_spacing "${config.timestepSpacing}" is not supported`);
  }
  const train = trainSigmas(alphasCumprod(config.betaSchedule, config.betaStart, config.betaEnd, T));
  let sigmas: number[];
  if (config.useKarrasSigmas) {
    sigmas = karrasSigmas(train[0], train[T - 1], steps);
    const logSigmas = train.map(Math.log);
    timesteps = sigmas.map((s) => roundHalfEven(sigmaToTimestep(s, logSigmas)));
  } else {
    sigmas = timesteps.map((t) => interpolateTable(t, train));
  }
  return { timesteps, sigmas: [...sigmas, 0].map(Math.fround) };
}
