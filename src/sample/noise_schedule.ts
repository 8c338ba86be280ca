/**
 * The noise schedule shared by all schedulers: betas, cumulative alphas, the training sigmas
 * σ_t = √((1 − ᾱ_t)/ᾱ_t), the three timestep spacings, the Karras ramp and the σ → t inverse map.
 *
 * Each function mirrors the arithmetic of diffusers 0.42.1 (numpy float64 where diffusers uses numpy,
 * values rounded to float32 where diffusers stores float32 tensors), so schedules match diffusers' to the
 * last bit or nearly.
 *
 * @module
 */

/** How betas grow over the training timesteps. */
export type BetaSchedule = "scaled_linear" | "linear";

/** How inference timesteps are picked from the training range (Table 2 of arXiv:2305.08891). */
export type TimestepSpacing = "leading" | "trailing" | "linspace";

/**
 * Cumulative products ᾱ_t of (1 − β_t) for t = 0 … numTrainTimesteps − 1, bit-identical to diffusers'
 * float32 `alphas_cumprod` (torch's float32 `linspace`, float32 betas, a float64-accumulated cumprod
 * rounded to float32).
 *
 * `scaled_linear` (Stable Diffusion) spaces √β linearly; `linear` spaces β linearly.
 *
 * @example
 * ```ts
 * import { alphasCumprod } from "./noise_schedule.ts";
 * const ac = alphasCumprod("scaled_linear", 0.00085, 0.012, 1000);
 * ac[999]; // ≈ 0.00466
 * ```
 */
export function alphasCumprod(
  schedule: BetaSchedule,
  betaStart: number,
  betaEnd: number,
  numTrainTimesteps: number,
): Float64Array {
  const scaled = schedule === "scaled_linear";
  if (!scaled && schedule !== "linear") {
    throw new Error(`beta_schedule "${schedule}" is not supported (use "scaled_linear" or "linear")`);
  }
  const values = float32Linspace(
    scaled ? Math.sqrt(betaStart) : betaStart,
    scaled ? Math.sqrt(betaEnd) : betaEnd,
    numTrainTimesteps,
  );
  const out = new Float64Array(numTrainTimesteps);
  let product = 1;
  for (let t = 0; t < numTrainTimesteps; t++) {
    const beta = scaled ? Math.fround(values[t] * values[t]) : values[t];
    product *= Math.fround(1 - beta);
    out[t] = Math.fround(product);
  }
  return out;
}

/**
 * torch's float32 `linspace`: a float32 step, the first half counted up from the start and the second half
 * down from the end, each value rounded once.
 */
function float32Linspace(start: number, end: number, steps: number): Float64Array {
  const a = Math.fround(start), b = Math.fround(end);
  if (steps === 1) return Float64Array.of(a);
  const step = Math.fround(Math.fround(b - a) / (steps - 1));
  const half = Math.floor(steps / 2);
  const out = new Float64Array(steps);
  for (let i = 0; i < steps; i++) out[i] = Math.fround(i < half ? a + i * step : b - (steps - 1 - i) * step);
  return out;
}

/**
 * The training sigmas σ_t = √((1 − ᾱ_t)/ᾱ_t), evaluated in float32 as diffusers does (1 − ᾱ loses digits
 * near t = 0, and matching that keeps the smallest sigmas equal to diffusers').
 *
 * @example
 * ```ts
 * import { alphasCumprod, trainSigmas } from "./noise_schedule.ts";
 * const sigmas = trainSigmas(alphasCumprod("scaled_linear", 0.00085, 0.012, 1000));
 * sigmas[999]; // ≈ 14.61
 * ```
 */
export function trainSigmas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => Math.fround(Math.sqrt(Math.fround(Math.fround(1 - a) / a))));
}

/**
 * Rounds half to even, as numpy's `round` does (so 166.5 → 166, 167.5 → 168).
 *
 * @example
 * ```ts
 * import { roundHalfEven } from "./noise_schedule.ts";
 * roundHalfEven(2.5); // 2
 * ```
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * `numpy.linspace(start, stop, num)`: start + i·step, with the last value exactly `stop`.
 *
 * @example
 * ```ts
 * import { linspace } from "./noise_schedule.ts";
 * linspace(0, 999, 7); // [0, 166.5, …, 999]
 * ```
 */
export function linspace(start: number, stop: number, num: number): number[] {
  if (num === 1) return [start];
  const step = (stop - start) / (num - 1);
  const out: number[] = [];
  for (let i = 0; i < num; i++) out.push(i * step + start);
  out[num - 1] = stop;
  return out;
}

/**
 * `numpy.arange(start, stop, step)` for a float step (its length is ⌈(stop − start)/step⌉).
 *
 * @example
 * ```ts
 * import { arange } from "./noise_schedule.ts";
 * arange(1000, 0, -250); // [1000, 750, 500, 250]
 * ```
 */
export function arange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(start + i * step);
  return out;
}

/**
 * Descending inference timesteps for the spacing, as the DDIM, Euler, Euler ancestral and LMS schedulers of
 * diffusers pick them. `rounded` rounds `linspace` to integers (DDIM does; the sigma schedulers keep the
 * fractions).
 *
 * @example
 * ```ts
 * import { spacedTimesteps } from "./noise_schedule.ts";
 * spacedTimesteps("leading", 1000, 10, 1, false); // [901, 801, …, 1]
 * ```
 */
export function spacedTimesteps(
  spacing: TimestepSpacing,
  numTrainTimesteps: number,
  steps: number,
  stepsOffset: number,
  rounded: boolean,
): number[] {
  if (spacing === "linspace") {
    const t = linspace(0, numTrainTimesteps - 1, steps).map((x) =>
      rounded ? roundHalfEven(x) : Math.fround(x)
    );
    return t.reverse();
  }
  if (spacing === "leading") {
    const ratio = Math.floor(numTrainTimesteps / steps);
    return arange(0, steps, 1).map((i) => i * ratio + stepsOffset).reverse();
  }
  if (spacing === "trailing") {
    return arange(numTrainTimesteps, 0, -numTrainTimesteps / steps).map((x) => roundHalfEven(x) - 1);
  }
  throw new Error(`timestep_spacing "${spacing}" is not supported (use "leading", "trailing" or "linspace")`);
}

/**
 * `numpy.interp(x, [0, 1, …, n−1], values)`: linear interpolation in a table indexed by integers.
 *
 * @example
 * ```ts
 * import { interpolateTable } from "./noise_schedule.ts";
 * interpolateTable(0.5, new Float64Array([0, 2])); // 1
 * ```
 */
export function interpolateTable(x: number, values: Float64Array): number {
  if (x <= 0) return values[0];
  const last = values.length - 1;
  if (x >= last) return values[last];
  const j = Math.floor(x);
  if (x === j) return values[j];
  return (values[j + 1] - values[j]) * (x - j) + values[j];
}

/**
 * The Karras et al. (2022) sigma ramp with ρ = 7 from σ_max down to σ_min, `steps` values.
 *
 * @example
 * ```ts
 * import { karrasSigmas } from "./noise_schedule.ts";
 * karrasSigmas(0.03, 14.6, 10); // [14.6, …, 0.03]
 * ```
 */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number): number[] {
  const rho = 7;
  const minInv = sigmaMin ** (1 / rho), maxInv = sigmaMax ** (1 / rho);
  return linspace(0, 1, steps).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}

/**
 * The (fractional) training timestep whose sigma is `sigma`, interpolating linearly in log σ between the
 * two neighbouring training sigmas (diffusers' `_sigma_to_t`).
 *
 * @example
 * ```ts
 * import { alphasCumprod, sigmaToTimestep, trainSigmas } from "./noise_schedule.ts";
 * const s = trainSigmas(alphasCumprod("scaled_linear", 0.00085, 0.012, 1000));
 * sigmaToTimestep(s[500], s.map(Math.log)); // 500
 * ```
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // The last index whose log σ is ≤ the target (0 when none is), clipped so that a right neighbour exists.
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low], hi = logSigmas[low + 1];
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}
