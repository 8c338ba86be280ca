/**
 * Sampling without the networks: the denoising loop (the UNet plugs in as a prediction function), schedulers with diffusers parity (DDIM, Euler, Euler ancestral, LMS,
 * DPM++ 2M with or without Karras sigmas, PNDM/PLMS), diffusers `scheduler_config.json` reading,
 * classifier-free guidance, and seeded initial latents: from torch's CPU generator reimplemented
 * ({@linkcode TorchGenerator}, the noise diffusers and ComfyUI draw for a seed) or from the project's
 * portable {@linkcode Random}. The same seed gives the same latents and ancestral noise on every backend.
 *
 * @example
 * ```ts
 * import { classifierFreeGuidance, createScheduler, initialLatents, TorchGenerator } from "./mod.ts";
 * const scheduler = createScheduler("euler-ancestral", {}, 20);
 * const generator = new TorchGenerator(42); // torch.Generator().manual_seed(42)
 * let latents = initialLatents([1, 4, 8, 8], generator, scheduler.initNoiseSigma);
 * for (let i = 0; i < scheduler.timesteps.length; i++) {
 *   const input = scheduler.scaleModelInput(latents, i);
 *   const [uncond, cond] = [input.map(() => 0), input.map(() => 0.1)]; // the UNet, twice
 *   latents = scheduler.step(classifierFreeGuidance(uncond, cond, 7.5), i, latents, generator);
 * }
 * ```
 *
 * @module
 */

export { createScheduler } from "./create_scheduler.ts";
export {
  denoise,
  type DenoiseOptions,
  type DenoiseProgress,
  guided,
  type Predict,
  type PredictPair,
} from "./denoise.ts";
export {
  type PredictionType,
  type Scheduler,
  SCHEDULER_KINDS,
  type SchedulerConfig,
  type SchedulerKind,
  SD_SCHEDULER_CONFIG,
  type StepNoise,
} from "./scheduler.ts";
export {
  DIFFUSERS_SCHEDULER_CLASSES,
  type DiffusersScheduler,
  type DiffusersSchedulerConfig,
  parseSchedulerConfig,
  readSchedulerConfig,
  schedulerFromDiffusers,
} from "./scheduler_config.ts";
export type { BetaSchedule, TimestepSpacing } from "./noise_schedule.ts";
export { classifierFreeGuidance } from "./guidance.ts";
export { initialLatents } from "./latents.ts";
export { randn, Random } from "./random.ts";
export { NOISE_KINDS, type NoiseKind, type NoiseSource } from "./noise.ts";
export {
  TorchGenerator,
  type TorchGeneratorOptions,
  type TorchNormalKernel,
  torchRandn,
} from "./torch_generator.ts";
