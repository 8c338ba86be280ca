/**
 * PNDM (Liu et al. 2022), as diffusers' `PNDMScheduler`: pseudo linear multistep (PLMS) steps, after
 * either a Heun-like first step (`skipPrkSteps: true`, the Stable Diffusion 1.x setting) or three
 * pseudo Runge–Kutta warm-up rounds of four network evaluations each (`skipPrkSteps: false`).
 *
 * The network is evaluated more often than the number of steps: steps + 1 times with skipPrkSteps (the
 * second timestep repeats), steps + 9 times without; `timesteps` lists every evaluation.
 *
 * @module
 */

import { alphasCumprod, arange, linspace, roundHalfEven } from "./noise_schedule.ts";
import { SchedulerBase } from "./scheduler_base.ts";
import type { SchedulerConfig, SchedulerKind } from "./scheduler.ts";

/**
 * The PNDM sampler. Build it with {@linkcode createScheduler}.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const plms = createScheduler("pndm", {}, 50); // 51 network evaluations
 * ```
 */
export class PndmScheduler extends SchedulerBase {
  /** Always `"pndm"`. */
  readonly kind: SchedulerKind = "pndm";
  #alphas: Float64Array;
  #finalAlpha: number;
  #stride: number;
  #history: Float32Array[] = [];
  #firstSample: Float32Array | null = null;
  #prkSteps: number;
  #prkSum: Float32Array | null = null;

  /** The schedule for `steps` steps (steps + 1 network evaluations). */
  constructor(config: Readonly<SchedulerConfig>, steps: number) {
    const T = config.numTrainTimesteps;
    let ascending: number[];
    if (config.timestepSpacing === "linspace") {
      ascending = linspace(0, T - 1, steps).map(roundHalfEven);
    } else if (config.timestepSpacing === "leading") {
      const ratio = Math.floor(T / steps);
      ascending = arange(0, steps, 1).map((i) => i * ratio + config.stepsOffset);
    } else if (config.timestepSpacing === "trailing") {
      ascending = arange(T, 0, -T / steps).map(roundHalfEven).reverse().map((t) => t - 1);
    } else {
      throw new Error(`timestep_spacing "${config.timestepSpacing}" is not supported`);
    }
    let timesteps: number[];
    let prkSteps = 0;
    if (config.skipPrkSteps) {
      timesteps = [...ascending.slice(0, -1), ...ascending.slice(-2, -1), ...ascending.slice(-1)].reverse();
    } else {
      if (steps < 4) {
        throw new Error(`pndm scheduler: the Runge–Kutta warm-up needs at least 4 steps, got ${steps}`);
      }
      // Each of the last four timesteps and its half step, each evaluated twice, minus the ends.
      const half = Math.floor(Math.floor(T / steps) / 2);
      const pairs = ascending.slice(-4).flatMap((t) => [t, t + half]);
      const prk = pairs.slice(0, -1).flatMap((t) => [t, t]).slice(1, -1).reverse();
      prkSteps = prk.length;
      timesteps = [...prk, ...ascending.slice(0, -3).reverse()];
    }
    super(config, timesteps, null, 1, false);
    this.#prkSteps = prkSteps;
    this.#alphas = alphasCumprod(config.betaSchedule, config.betaStart, config.betaEnd, T);
    this.#finalAlpha = config.setAlphaToOne ? 1 : this.#alphas[0];
    this.#stride = Math.floor(T / steps);
  }

  protected compute(modelOutput: Float32Array, stepIndex: number, latents: Float32Array): Float32Array {
    if (stepIndex < this.#prkSteps) return this.#rungeKuttaStep(modelOutput, stepIndex, latents);
    let t = this.timesteps[stepIndex];
    let prev = t - this.#stride;
    let sample = latents;
    const e = this.#history;
    if (stepIndex !== 1) {
      if (e.length > 3) e.shift();
      e.push(modelOutput);
    } else {
      // The repeated timestep: correct the first step from the same starting sample.
      prev = t;
      t = t + this.#stride;
    }
    const n = modelOutput.length;
    const combined = new Float32Array(n);
    const k = e.length;
    if (k === 1 && stepIndex === 0) {
      combined.set(modelOutput);
      this.#firstSample = latents;
    } else if (k === 1 && stepIndex === 1) {
      for (let i = 0; i < n; i++) combined[i] = (modelOutput[i] + e[0][i]) / 2;
      sample = this.#firstSample!;
      this.#firstSample = null;
    } else if (k === 2) {
      for (let i = 0; i < n; i++) combined[i] = (3 * e[1][i] - e[0][i]) / 2;
    } else if (k === 3) {
      for (let i = 0; i < n; i++) combined[i] = (23 * e[2][i] - 16 * e[1][i] + 5 * e[0][i]) / 12;
    } else {
      for (let i = 0; i < n; i++) {
        combined[i] = (55 * e[3][i] - 59 * e[2][i] + 37 * e[1][i] - 9 * e[0][i]) / 24;
      }
    }
    return this.#previousSample(sample, t, prev, combined);
  }

  /** One evaluation of a pseudo Runge–Kutta round (4 per round, weights 1/6, 1/3, 1/3, 1/6). */
  #rungeKuttaStep(modelOutput: Float32Array, stepIndex: number, latents: Float32Array): Float32Array {
    const halfStride = stepIndex % 2 ? 0 : Math.floor(this.#stride / 2);
    const prev = this.timesteps[stepIndex] - halfStride;
    const t = this.timesteps[stepIndex - (stepIndex % 4)];
    const n = modelOutput.length;
    const phase = stepIndex % 4;
    let eps = modelOutput;
    if (phase === 0) {
      this.#prkSum = modelOutput.map((v) => v / 6);
      this.#history.push(modelOutput);
      this.#firstSample = latents;
    } else if (phase < 3) {
      for (let i = 0; i < n; i++) this.#prkSum![i] += modelOutput[i] / 3;
    } else {
      eps = new Float32Array(n);
      for (let i = 0; i < n; i++) eps[i] = this.#prkSum![i] + modelOutput[i] / 6;
      this.#prkSum = null;
    }
    return this.#previousSample(this.#firstSample!, t, prev, eps);
  }

  /** DDIM-like jump from t to prev with the combined ε (formula (9) of the PNDM paper). */
  #previousSample(sample: Float32Array, t: number, prev: number, eps: Float32Array): Float32Array {
    const alphaT = this.#alphas[t];
    const alphaPrev = prev >= 0 ? this.#alphas[prev] : this.#finalAlpha;
    const betaT = 1 - alphaT, betaPrev = 1 - alphaPrev;
    const sampleCoeff = Math.sqrt(alphaPrev / alphaT);
    const denominator = alphaT * Math.sqrt(betaPrev) + Math.sqrt(alphaT * betaT * alphaPrev);
    const v = this.config.predictionType === "v_prediction";
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const m = v ? Math.sqrt(alphaT) * eps[i] + Math.sqrt(betaT) * sample[i] : eps[i];
      out[i] = sampleCoeff * sample[i] - (alphaPrev - alphaT) * m / denominator;
    }
    return out;
  }
}
