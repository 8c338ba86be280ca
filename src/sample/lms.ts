/**
 * Linear multistep sampling (k-diffusion's LMS), as diffusers' `LMSDiscreteScheduler` with order 4: the
 * ODE derivative is extrapolated from up to four earlier derivatives by integrating their Lagrange
 * polynomial over [σ_i, σ_{i+1}].
 *
 * @module
 */

import { SigmaScheduler } from "./sigma_schedule.ts";
import type { SchedulerConfig, SchedulerKind } from "./scheduler.ts";

const ORDER = 4;

// 4-point Gauss–Legendre nodes and weights on [-1, 1]: exact for the cubic Lagrange polynomials here.
const GAUSS_NODES = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
const GAUSS_WEIGHTS = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];

/**
 * The LMS sampler. Build it with {@linkcode createScheduler}.
 *
 * @example
 * ```ts
 * import { createScheduler } from "./create_scheduler.ts";
 * const lms = createScheduler("lms", {}, 50);
 * ```
 */
export class LmsScheduler extends SigmaScheduler {
  /** Always `"lms"`. */
  readonly kind: SchedulerKind = "lms";
  #derivatives: Float32Array[] = [];

  /** The schedule for `steps` steps. */
  constructor(config: Readonly<SchedulerConfig>, steps: number) {
    super(config, steps, false);
  }

  protected compute(modelOutput: Float32Array, stepIndex: number, latents: Float32Array): Float32Array {
    this.#derivatives.push(this.derivative(modelOutput, stepIndex, latents));
    if (this.#derivatives.length > ORDER) this.#derivatives.shift();
    const order = Math.min(stepIndex + 1, ORDER);
    const out = latents.slice();
    for (let k = 0; k < order; k++) {
      const c = this.#coefficient(order, stepIndex, k);
      const d = this.#derivatives[this.#derivatives.length - 1 - k];
      for (let i = 0; i < out.length; i++) out[i] += c * d[i];
    }
    return out;
  }

  /** ∫ over [σ_t, σ_{t+1}] of the Lagrange basis polynomial of the derivative taken `k` steps back. */
  #coefficient(order: number, t: number, k: number): number {
    const s = this.sigmas!;
    const basis = (tau: number): number => {
      let p = 1;
      for (let j = 0; j < order; j++) if (j !== k) p *= (tau - s[t - j]) / (s[t - k] - s[t - j]);
      return p;
    };
    const a = s[t], b = s[t + 1], half = (b - a) / 2, mid = (a + b) / 2;
    let sum = 0;
    for (let q = 0; q < GAUSS_NODES.length; q++) sum += GAUSS_WEIGHTS[q] * basis(mid + half * GAUSS_NODES[q]);
    return sum * half;
  }
}
