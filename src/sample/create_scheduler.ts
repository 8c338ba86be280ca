/**
 * Builds a scheduler of a given kind from (partial) settings.
 *
 * @module
 */

import { DdimScheduler } from "./ddim.ts";
import { DpmSolverScheduler } from "./dpm_solver.ts";
import { EulerScheduler } from "./euler.ts";
import { EulerAncestralScheduler } from "./euler_ancestral.ts";
import { LmsScheduler } from "./lms.ts";
import { PndmScheduler } from "./pndm.ts";
import { SCHEDULER_KINDS, SD_SCHEDULER_CONFIG } from "./scheduler.ts";
import type { Scheduler, SchedulerConfig, SchedulerKind } from "./scheduler.ts";

/**
 * A scheduler for `numInferenceSteps` steps. Settings not given take the Stable Diffusion 1.x/2.x values
 * ({@linkcode SD_SCHEDULER_CONFIG}); for a diffusers folder use {@linkcode schedulerFromDiffusers}.
 *
 * @example Sampling loop
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * import { initialLatents } from "./latents.ts";
 * const scheduler = createScheduler("dpm++2m", { useKarrasSigmas: true }, 20);
 * let latents = initialLatents([1, 4, 8, 8], 42, scheduler.initNoiseSigma);
 * for (let i = 0; i < scheduler.timesteps.length; i++) {
 *   const input = scheduler.scaleModelInput(latents, i);
 *   const eps = input.map(() => 0); // the UNet's prediction at scheduler.timesteps[i]
 *   latents = scheduler.step(eps, i, latents);
 * }
 * ```
 */
export function createScheduler(
  kind: SchedulerKind,
  config: Partial<SchedulerConfig>,
  numInferenceSteps: number,
): Scheduler {
  const full: SchedulerConfig = { ...SD_SCHEDULER_CONFIG, ...config };
  validateConfig(full, kind, numInferenceSteps);
  const frozen = Object.freeze(full);
  switch (kind) {
    case "ddim":
      return new DdimScheduler(frozen, numInferenceSteps);
    case "euler":
      return new EulerScheduler(frozen, numInferenceSteps);
    case "euler-ancestral":
      return new EulerAncestralScheduler(frozen, numInferenceSteps);
    case "lms":
      return new LmsScheduler(frozen, numInferenceSteps);
    case "dpm++2m":
      return new DpmSolverScheduler(frozen, numInferenceSteps);
    case "pndm":
      return new PndmScheduler(frozen, numInferenceSteps);
  }
  throw new Error(`unknown scheduler kind "${kind}" (use one of ${SCHEDULER_KINDS.join(", ")})`);
}

function validateConfig(c: SchedulerConfig, kind: SchedulerKind, steps: number): void {
  const bad = (what: string): never => {
    throw new Error(`${kind} scheduler: ${what}`);
  };
  if (!Number.isInteger(steps) || steps < 1) {
    bad(`numInferenceSteps must be a positive integer, got ${steps}`);
  }
  if (!Number.isInteger(c.numTrainTimesteps) || c.numTrainTimesteps < 2) {
    bad(`numTrainTimesteps must be an integer ≥ 2, got ${c.numTrainTimesteps}`);
  }
  if (steps > c.numTrainTimesteps) bad(`${steps} steps exceed the ${c.numTrainTimesteps} training timesteps`);
  if (!(c.betaStart > 0 && c.betaEnd > c.betaStart && c.betaEnd < 1)) {
    bad(`need 0 < betaStart < betaEnd < 1, got ${c.betaStart} and ${c.betaEnd}`);
  }
  if (c.betaSchedule !== "scaled_linear" && c.betaSchedule !== "linear") {
    bad(`betaSchedule "${c.betaSchedule}" is not supported (use "scaled_linear" or "linear")`);
  }
  if (c.predictionType !== "epsilon" && c.predictionType !== "v_prediction") {
    bad(`predictionType "${c.predictionType}" is not supported (use "epsilon" or "v_prediction")`);
  }
  if (!["leading", "trailing", "linspace"].includes(c.timestepSpacing)) {
    bad(`timestepSpacing "${c.timestepSpacing}" is not supported (use "leading", "trailing" or "linspace")`);
  }
  if (!Number.isInteger(c.stepsOffset) || c.stepsOffset < 0) bad(`stepsOffset must be an integer ≥ 0`);
  if (c.useKarrasSigmas && (kind === "ddim" || kind === "pndm" || kind === "euler-ancestral")) {
    bad("Karras sigmas apply only to euler, lms and dpm++2m");
  }
  if (!(c.eta >= 0)) bad(`eta must be ≥ 0, got ${c.eta}`);
  if (c.solverOrder !== 1 && c.solverOrder !== 2) {
    bad(`solverOrder ${c.solverOrder} is not supported (1 or 2)`);
  }
  if (c.solverType !== "midpoint" && c.solverType !== "heun") {
    bad(`solverType "${c.solverType}" is not supported`);
  }
}
