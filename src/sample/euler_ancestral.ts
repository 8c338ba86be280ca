/**
 * Euler ancestral sampling, as diffusers' `EulerAncestralDiscreteScheduler`: an Euler step down to
 * σ_down followed by fresh noise of standard deviation σ_up, with σ_down² + σ_up² = σ_next².
 *
 * @module
 */

import { SigmaScheduler } from "./sigma_schedule.ts";
import type { SchedulerConfig, SchedulerKind, StepNoise } from "./scheduler.ts";

/**
 * The Euler ancestral sampler. Every step needs noise (a seeded Random, or explicit values).
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * import { Random } from "./random.ts";
 * const s = createScheduler("euler-ancestral", {}, 2);
 * const rng = new Random(42, "ancestral");
 * let x: Float32Array = new Float32Array(4).fill(s.initNoiseSigma);
 * for (let i = 0; i < s.timesteps.length; i++) x = s.step(new Float32Array(4), i, x, rng);
 * ```
 */
export class EulerAncestralScheduler extends SigmaScheduler {
  /** Always `"euler-ancestral"`. */
  readonly kind: SchedulerKind = "euler-ancestral";

  /** The schedule for `steps` steps. */
  constructor(config: Readonly<SchedulerConfig>, steps: number) {
    if (config.useKarrasSigmas) {
      // Checked here as well as in createScheduler, for direct construction.
      throw new Error(
        "euler-ancestral scheduler: Karras sigmas are not supported (diffusers has none either)",
      );
    }
    super(config, steps, true);
  }

  protected compute(
    modelOutput: Float32Array,
    stepIndex: number,
    latents: Float32Array,
    noise: StepNoise | undefined,
  ): Float32Array {
    const from = this.sigmas![stepIndex], to = this.sigmas![stepIndex + 1];
    const up = Math.sqrt(to * to * (from * from - to * to) / (from * from));
    const down = Math.sqrt(to * to - up * up);
    // Noise is drawn on every step (also the last, where σ_up = 0) so a Random stays in step with diffusers.
    const z = this.noiseValues(noise, latents.length);
    const d = this.derivative(modelOutput, stepIndex, latents);
    const dt = down - from;
    for (let i = 0; i < d.length; i++) d[i] = latents[i] + d[i] * dt + z[i] * up;
    return d;
  }
}
