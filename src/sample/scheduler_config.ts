/**
 * Reads diffusers' `scheduler/scheduler_config.json`, so that a diffusers folder's sampler and noise
 * schedule are honoured.
 *
 * `_class_name` picks the sampler: DDIMScheduler → ddim, EulerDiscreteScheduler → euler,
 * EulerAncestralDiscreteScheduler → euler-ancestral, LMSDiscreteScheduler → lms,
 * DPMSolverMultistepScheduler → dpm++2m, PNDMScheduler → pndm. A different sampler may be asked for; keys the config lacks then take that sampler's
 * diffusers defaults, as diffusers' `from_config` does. Options that would change the numbers and are
 * not implemented (zero-SNR rescaling, thresholding, exponential/beta/flow sigmas, …) are errors that name
 * the file and key.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { createScheduler } from "./create_scheduler.ts";
import type { PredictionType, Scheduler, SchedulerConfig, SchedulerKind } from "./scheduler.ts";
import type { BetaSchedule, TimestepSpacing } from "./noise_schedule.ts";

/** diffusers class names and the sampler each maps to. */
export const DIFFUSERS_SCHEDULER_CLASSES: Readonly<Record<string, SchedulerKind>> = Object.freeze({
  DDIMScheduler: "ddim",
  EulerDiscreteScheduler: "euler",
  EulerAncestralDiscreteScheduler: "euler-ancestral",
  LMSDiscreteScheduler: "lms",
  DPMSolverMultistepScheduler: "dpm++2m",
  PNDMScheduler: "pndm",
});

/** A parsed `scheduler_config.json`. */
export interface DiffusersSchedulerConfig {
  /** Where it came from (a path, or a label), for messages. */
  source: string;
  /** The `_class_name` as written. */
  className: string;
  /** The sampler `_class_name` maps to, or null for a class not implemented here. */
  kind: SchedulerKind | null;
  /** The raw keys, for building any sampler with diffusers' `from_config` defaulting. */
  raw: Readonly<Record<string, unknown>>;
}

/**
 * Parses the JSON object of a `scheduler_config.json`.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig } from "./scheduler_config.ts";
 * const c = parseSchedulerConfig({ _class_name: "PNDMScheduler", steps_offset: 1 }, "scheduler_config.json");
 * c.kind; // "pndm"
 * ```
 */
export function parseSchedulerConfig(json: unknown, source: string): DiffusersSchedulerConfig {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error(`${source}: a scheduler config must be a JSON object`);
  }
  const raw = json as Record<string, unknown>;
  const className = raw._class_name;
  if (typeof className !== "string") throw new Error(`${source}: "_class_name" is missing or not a string`);
  return {
    source,
    className,
    kind: DIFFUSERS_SCHEDULER_CLASSES[className] ?? null,
    raw: Object.freeze({ ...raw }),
  };
}

/**
 * Reads and parses a `scheduler_config.json` file (or the `scheduler/` folder of a diffusers model).
 *
 * @example
 * ```ts ignore
 * import { readSchedulerConfig, schedulerFromDiffusers } from "./scheduler_config.ts";
 * const parsed = await readSchedulerConfig("stable-diffusion-v1-5/scheduler");
 * const scheduler = schedulerFromDiffusers(parsed, 30).scheduler;
 * ```
 */
export async function readSchedulerConfig(path: string): Promise<DiffusersSchedulerConfig> {
  let text: string;
  let file = path;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as { code?: string }).code !== "EISDIR") {
      throw new Error(`${file}: cannot read (${(e as Error).message})`);
    }
    file = `${path.replace(/\/+$/, "")}/scheduler_config.json`;
    try {
      text = await readFile(file, "utf8");
    } catch (e2) {
      throw new Error(`${file}: cannot read (${(e2 as Error).message})`);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return parseSchedulerConfig(json, file);
}

/** A scheduler built from a diffusers config, and what was approximated. */
export interface DiffusersScheduler {
  /** The ready scheduler. */
  scheduler: Scheduler;
  /** Human-readable notes on settings not followed exactly (empty when none; kept for future approximations). */
  notes: string[];
}

/**
 * Builds a scheduler from a diffusers config for `numInferenceSteps` steps. `kind` overrides the sampler
 * (keeping the config's noise schedule); `overrides` replace single settings.
 *
 * @example
 * ```ts
 * import { parseSchedulerConfig, schedulerFromDiffusers } from "./scheduler_config.ts";
 * const sd21 = parseSchedulerConfig({
 *   _class_name: "DDIMScheduler", beta_schedule: "scaled_linear", beta_start: 0.00085, beta_end: 0.012,
 *   clip_sample: false, set_alpha_to_one: false, steps_offset: 1, prediction_type: "v_prediction",
 * }, "sd21/scheduler_config.json");
 * const { scheduler } = schedulerFromDiffusers(sd21, 25, "dpm++2m", { useKarrasSigmas: true });
 * ```
 */
export function schedulerFromDiffusers(
  parsed: DiffusersSchedulerConfig,
  numInferenceSteps: number,
  kind?: SchedulerKind,
  overrides: Partial<SchedulerConfig> = {},
): DiffusersScheduler {
  const chosen = kind ?? parsed.kind;
  if (chosen === null) {
    throw new Error(
      `${parsed.source}: scheduler class "${parsed.className}" is not implemented ` +
        `(supported: ${Object.keys(DIFFUSERS_SCHEDULER_CLASSES).join(", ")}); choose a sampler explicitly`,
    );
  }
  const notes: string[] = [];
  const config = { ...configFor(parsed, chosen, notes), ...overrides };
  return { scheduler: createScheduler(chosen, config, numInferenceSteps), notes };
}

/** diffusers' constructor defaults, per sampler, for keys a config leaves out. */
function defaultsFor(kind: SchedulerKind): Record<string, unknown> {
  return {
    num_train_timesteps: 1000,
    beta_start: 0.0001,
    beta_end: 0.02,
    beta_schedule: "linear",
    prediction_type: "epsilon",
    steps_offset: 0,
    timestep_spacing: kind === "ddim" || kind === "pndm" ? "leading" : "linspace",
    set_alpha_to_one: kind === "ddim",
    clip_sample: kind === "ddim",
    clip_sample_range: 1,
    use_karras_sigmas: false,
    solver_order: 2,
    solver_type: "midpoint",
    algorithm_type: "dpmsolver++",
    skip_prk_steps: false,
  };
}

/** Settings the implementation does not have, with the value that means "off". */
const MUST_BE_OFF: Record<string, unknown> = {
  trained_betas: null,
  rescale_betas_zero_snr: false,
  thresholding: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  use_dynamic_shifting: false,
  sigma_min: null,
  sigma_max: null,
};

function configFor(parsed: DiffusersSchedulerConfig, kind: SchedulerKind, notes: string[]): SchedulerConfig {
  const { raw, source } = parsed;
  const value = (key: string): unknown => key in raw ? raw[key] : defaultsFor(kind)[key];
  const fail = (key: string, why: string): never => {
    throw new Error(`${source}: "${key}" ${why}`);
  };
  const num = (key: string): number => {
    const v = value(key);
    return typeof v === "number" && Number.isFinite(v)
      ? v
      : fail(key, `must be a number, got ${JSON.stringify(v)}`);
  };
  const bool = (key: string): boolean => {
    const v = value(key);
    return typeof v === "boolean" ? v : fail(key, `must be true or false, got ${JSON.stringify(v)}`);
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const v = value(key);
    return allowed.includes(v as T)
      ? v as T
      : fail(key, `is ${JSON.stringify(v)}; supported: ${allowed.map((a) => JSON.stringify(a)).join(", ")}`);
  };
  for (const [key, off] of Object.entries(MUST_BE_OFF)) {
    if (key in raw && raw[key] !== off && raw[key] !== undefined) {
      fail(key, `is ${JSON.stringify(raw[key])}; only ${JSON.stringify(off)} is supported`);
    }
  }
  if ("timestep_type" in raw && raw.timestep_type !== "discrete") {
    fail("timestep_type", `only "discrete" is supported`);
  }
  if ("interpolation_type" in raw && raw.interpolation_type !== "linear") {
    fail("interpolation_type", `only "linear" is supported`);
  }
  if ("final_sigmas_type" in raw && raw.final_sigmas_type !== "zero") {
    fail("final_sigmas_type", `only "zero" is supported`);
  }
  if (kind === "dpm++2m") {
    const algorithm = value("algorithm_type");
    if (algorithm !== "dpmsolver++" && algorithm !== "deis") {
      fail("algorithm_type", `is ${JSON.stringify(algorithm)}; only "dpmsolver++" is supported`);
    }
    const variance = raw.variance_type;
    if (variance !== undefined && variance !== null) {
      fail("variance_type", "learned variance is not supported");
    }
  }
  const order = num("solver_order");
  if (kind === "dpm++2m" && order !== 1 && order !== 2) {
    fail("solver_order", `is ${order}; only 1 and 2 are supported`);
  }
  const solverType = value("solver_type");
  return {
    numTrainTimesteps: num("num_train_timesteps"),
    betaStart: num("beta_start"),
    betaEnd: num("beta_end"),
    betaSchedule: oneOf<BetaSchedule>("beta_schedule", ["scaled_linear", "linear"]),
    predictionType: oneOf<PredictionType>("prediction_type", ["epsilon", "v_prediction"]),
    timestepSpacing: oneOf<TimestepSpacing>("timestep_spacing", ["leading", "trailing", "linspace"]),
    stepsOffset: num("steps_offset"),
    setAlphaToOne: bool("set_alpha_to_one"),
    useKarrasSigmas: kind === "euler" || kind === "lms" || kind === "dpm++2m"
      ? bool("use_karras_sigmas")
      : false,
    eta: 0,
    clipSample: kind === "ddim" ? bool("clip_sample") : false,
    clipSampleRange: num("clip_sample_range"),
    skipPrkSteps: kind === "pndm" ? bool("skip_prk_steps") : true,
    solverOrder: kind === "dpm++2m" ? order as 1 | 2 : 2,
    // diffusers maps the DEIS/UniPC solver types to midpoint.
    solverType: solverType === "heun" ? "heun" : "midpoint",
  };
}
