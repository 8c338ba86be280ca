/**
 * CPU twin of the AdamW update, as PyTorch's `torch.optim.AdamW` computes it (decoupled weight decay,
 * bias-corrected moments, `eps` added after the square root).
 *
 * @module
 */

/** AdamW hyperparameters (PyTorch names and defaults). */
export interface AdamWOptions {
  /** Learning rate. */
  lr: number;
  /** First-moment decay (default 0.9). */
  beta1?: number;
  /** Second-moment decay (default 0.999). */
  beta2?: number;
  /** Denominator term (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay (default 0.01). */
  weightDecay?: number;
}

/** Hyperparameters with defaults filled in, plus the bias corrections of step `t` (1-based). */
export interface AdamWStepConstants {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** `lr / (1 − β1ᵗ)`. */
  stepSize: number;
  /** `√(1 − β2ᵗ)`. */
  biasCorrection2Sqrt: number;
}

/** Fills defaults, checks ranges and computes the bias corrections for step `t`. */
export function adamWStepConstants(options: AdamWOptions, t: number): AdamWStepConstants {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const weightDecay = options.weightDecay ?? 0.01;
  const lr = options.lr;
  if (
    !(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) ||
    !(weightDecay >= 0)
  ) {
    throw new RangeError(
      `adamw: need lr ≥ 0, 0 ≤ beta1, beta2 < 1, eps ≥ 0, weightDecay ≥ 0; got ${JSON.stringify(options)}`,
    );
  }
  return {
    lr,
    beta1,
    beta2,
    eps,
    weightDecay,
    stepSize: lr / (1 - beta1 ** t),
    biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** t),
  };
}

/**
 * An AdamW optimizer over one flat parameter vector. The WebGPU version keeps parameters and moments on
 * the device between steps; `read()` copies the parameters back.
 */
export interface AdamWOptimizer {
  /** Steps taken so far. */
  readonly step: number;
  /** Applies one update with gradient `grad` (same length as the parameters). */
  update(grad: Float32Array): Promise<void>;
  /** The current parameters (a copy). */
  read(): Promise<Float32Array>;
  /** Releases device memory (no-op on the CPU). */
  dispose(): void;
}

/** Checks a gradient's length against the parameter count. */
export function checkGradientLength(grad: Float32Array, length: number): void {
  if (grad.length !== length) {
    throw new RangeError(`adamw: gradient has ${grad.length} values, the parameters have ${length}`);
  }
}

/**
 * One AdamW step in place on float32 arrays (the twin of the WGSL kernel).
 *
 * @example
 * ```ts
 * import { adamWStepConstants, adamWUpdateInPlace } from "./adamw.ts";
 * const p = new Float32Array([1]), m = new Float32Array(1), v = new Float32Array(1);
 * adamWUpdateInPlace(p, m, v, new Float32Array([0.5]), adamWStepConstants({ lr: 0.1, weightDecay: 0 }, 1));
 * console.log(p[0].toFixed(4)); // 0.9000
 * ```
 */
export function adamWUpdateInPlace(
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grad: Float32Array,
  c: AdamWStepConstants,
): void {
  const decay = 1 - c.lr * c.weightDecay;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i];
    const mi = c.beta1 * m[i] + (1 - c.beta1) * g;
    const vi = c.beta2 * v[i] + (1 - c.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const denom = Math.sqrt(vi) / c.biasCorrection2Sqrt + c.eps;
    params[i] = params[i] * decay - c.stepSize * mi / denom;
  }
}

/** CPU AdamW optimizer (parameters and moments in float32 arrays). */
export class CpuAdamW implements AdamWOptimizer {
  readonly #params: Float32Array;
  readonly #m: Float32Array;
  readonly #v: Float32Array;
  readonly #options: AdamWOptions;
  #step = 0;

  /**
   * Starts from a copy of `params` with zero moments.
   *
   * @example
   * ```ts
   * import { CpuAdamW } from "./adamw.ts";
   * const opt = new CpuAdamW(new Float32Array([1, 2]), { lr: 1e-3 });
   * await opt.update(new Float32Array([0.1, -0.1]));
   * console.log(opt.step); // 1
   * ```
   */
  constructor(params: Float32Array, options: AdamWOptions) {
    adamWStepConstants(options, 1);
    this.#params = Float32Array.from(params);
    this.#m = new Float32Array(params.length);
    this.#v = new Float32Array(params.length);
    this.#options = { ...options };
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** Applies one update. */
  update(grad: Float32Array): Promise<void> {
    checkGradientLength(grad, this.#params.length);
    this.#step++;
    adamWUpdateInPlace(this.#params, this.#m, this.#v, grad, adamWStepConstants(this.#options, this.#step));
    return Promise.resolve();
  }

  /** The current parameters (a copy). */
  read(): Promise<Float32Array> {
    return Promise.resolve(Float32Array.from(this.#params));
  }

  /** Nothing to release. */
  dispose(): void {}
}
