/**
 * Euler's method on the probability-flow ODE in σ (Karras et al. 2022), as diffusers'
 * `EulerDiscreteScheduler` with s_churn = 0.
 *
 * @module
 */

import { SigmaScheduler } from "./sigma_schedule.ts";
import type { SchedulerConfig, SchedulerKind } from "./scheduler.ts";

/**
 * The Euler sampler. Build it with {@linkcode createScheduler}.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const euler = createScheduler("euler", { useKarrasSigmas: true }, 20);
 * ```
 */
export class EulerScheduler extends SigmaScheduler {
  /** Always `"euler"`. */
  readonly kind: SchedulerKind = "euler";

  /** The schedule for `steps` steps. */
  constructor(config: Readonly<SchedulerConfig>, steps: number) {
    super(config, steps, false);
  }

  protected compute(modelOutput: Float32Array, stepIndex: number, latents: Float32Array): Float32Array {
    const d = this.derivative(modelOutput, stepIndex, latents);
    const dt = this.sigmas![stepIndex + 1] - this.sigmas![stepIndex];
    for (let i = 0; i < d.length; i++) d[i] = latents[i] + d[i] * dt;
    return d;
  }
}
