/**
 * The scheduler interface shared by every sampler, and its configuration.
 *
 * A scheduler turns a model's prediction at one timestep into the latents of the next. It is created for a
 * fixed number of inference steps and is stateful (multistep methods remember earlier predictions), so make
 * one per generated batch and call {@linkcode Scheduler.step} with stepIndex 0, 1, 2, … in order.
 *
 * All arithmetic is elementwise, so latents of any shape (a batch [B,4,h,w] included) are flat
 * Float32Arrays. Scheduler math runs on the CPU in float64 and stores float32, identically on every
 * backend: with a seeded noise source for the initial latents and ancestral noise (a `TorchGenerator` or
 * the portable `Random`), the same seed gives the same noise everywhere, and the images differ only by the
 * backends' own floating-point differences in the networks.
 *
 * @module
 */

import type { NoiseSource } from "./noise.ts";
import type { BetaSchedule, TimestepSpacing } from "./noise_schedule.ts";

/** The samplers implemented here (`dpm++2m` with {@linkcode SchedulerConfig.useKarrasSigmas} is "DPM++ 2M Karras"). */
export type SchedulerKind = "ddim" | "euler" | "euler-ancestral" | "lms" | "dpm++2m" | "pndm";

/** Every scheduler kind, for argument validation and help texts. */
export const SCHEDULER_KINDS: readonly SchedulerKind[] = [
  "ddim",
  "euler",
  "euler-ancestral",
  "lms",
  "dpm++2m",
  "pndm",
];

/** What the network predicts. */
export type PredictionType = "epsilon" | "v_prediction";

/** Scheduler settings, named after diffusers' `scheduler_config.json` keys in camelCase. */
export interface SchedulerConfig {
  /** Length of the training noise schedule (1000 for Stable Diffusion). */
  numTrainTimesteps: number;
  /** First beta of the schedule (SD: 0.00085). */
  betaStart: number;
  /** Last beta of the schedule (SD: 0.012). */
  betaEnd: number;
  /** How betas grow (SD: `scaled_linear`). */
  betaSchedule: BetaSchedule;
  /** `epsilon` (SD 1.x, SD 2.x base, SDXL) or `v_prediction` (SD 2.x 768). */
  predictionType: PredictionType;
  /** How inference timesteps are picked (SD configs: `leading`). */
  timestepSpacing: TimestepSpacing;
  /** Added to `leading` timesteps (SD configs: 1). */
  stepsOffset: number;
  /** DDIM/PNDM: whether the step past t = 0 uses ᾱ = 1 (SD: false, so ᾱ_0 is used). */
  setAlphaToOne: boolean;
  /** Euler, LMS, DPM++: use the Karras σ ramp (ρ = 7) instead of the spaced timesteps' sigmas. */
  useKarrasSigmas: boolean;
  /** DDIM: noise weight η (0 = deterministic DDIM, 1 = DDPM-like); needs noise in `step` when > 0. */
  eta: number;
  /** DDIM: clamp the predicted x₀ to ±{@linkcode SchedulerConfig.clipSampleRange}. */
  clipSample: boolean;
  /** DDIM: the clamp range when clipSample is on. */
  clipSampleRange: number;
  /** PNDM: start with a Heun-like PLMS step (true, SD) instead of three Runge–Kutta rounds (false). */
  skipPrkSteps: boolean;
  /** DPM-Solver++: 1 or 2 (2M). */
  solverOrder: 1 | 2;
  /** DPM-Solver++: second-order update form. */
  solverType: "midpoint" | "heun";
}

/** The Stable Diffusion 1.x/2.x settings (their `scheduler_config.json`), epsilon prediction. */
export const SD_SCHEDULER_CONFIG: Readonly<SchedulerConfig> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.00085,
  betaEnd: 0.012,
  betaSchedule: "scaled_linear",
  predictionType: "epsilon",
  timestepSpacing: "leading",
  stepsOffset: 1,
  setAlphaToOne: false,
  useKarrasSigmas: false,
  eta: 0,
  clipSample: false,
  clipSampleRange: 1,
  skipPrkSteps: true,
  solverOrder: 2,
  solverType: "midpoint",
});

/**
 * Noise for a stochastic step: a seeded {@linkcode NoiseSource} (a `TorchGenerator` or a `Random`; normals
 * are drawn from it, one call per step, as diffusers draws from its generator) or the exact noise to add,
 * one value per latent element.
 */
export type StepNoise = NoiseSource | Float32Array;

/** A sampler set up for a fixed number of steps. */
export interface Scheduler {
  /** Which sampler this is. */
  readonly kind: SchedulerKind;
  /** The settings it was built with. */
  readonly config: Readonly<SchedulerConfig>;
  /** The timestep to give the network at each step (may be fractional for Karras sigmas). */
  readonly timesteps: readonly number[];
  /** σ at each step plus the final σ (sigma schedulers), or null (DDIM, PNDM). */
  readonly sigmas: readonly number[] | null;
  /** Standard deviation of the initial latents: multiply unit normals by it. */
  readonly initNoiseSigma: number;
  /** Whether {@linkcode Scheduler.step} needs noise (Euler ancestral; DDIM with η > 0). */
  readonly needsNoise: boolean;
  /** The network's input at step `stepIndex` (a new array; `latents` is not changed). */
  scaleModelInput(latents: Float32Array, stepIndex: number): Float32Array;
  /**
   * The latents after step `stepIndex`, from the network's output for that step (a new array). Steps must
   * be taken in order 0, 1, 2, …; `noise` is required when {@linkcode Scheduler.needsNoise} is true.
   */
  step(modelOutput: Float32Array, stepIndex: number, latents: Float32Array, noise?: StepNoise): Float32Array;
}
