/**
 * WebGPU AdamW whose parameters and moments stay on the device between steps (PyTorch's formula; see
 * `cpu/adamw.ts`). Parameter vectors longer than the storage-binding limit are kept in segments.
 *
 * @module
 */

import {
  type AdamWOptimizer,
  type AdamWOptions,
  adamWStepConstants,
  checkGradientLength,
} from "../cpu/adamw.ts";
import { GpuContext } from "./context.ts";
import { ADAMW_WGSL } from "./elementwise_wgsl.ts";

interface Segment {
  start: number;
  end: number;
  param: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  grad: GPUBuffer;
}

/** AdamW whose parameters and moments stay on the device between steps. */
export class GpuAdamW implements AdamWOptimizer {
  readonly #ctx: GpuContext;
  readonly #options: AdamWOptions;
  readonly #segments: Segment[];
  readonly #length: number;
  #step = 0;

  /**
   * Uploads a copy of `params` with zero moments.
   *
   * @example
   * ```ts
   * import { GpuAdamW } from "./adamw.ts";
   * import { gpuForTests } from "./test_support.ts";
   * const ctx = await gpuForTests();
   * if (ctx) {
   *   const opt = new GpuAdamW(ctx, new Float32Array([1, 2]), { lr: 1e-3 });
   *   await opt.update(new Float32Array([0.1, -0.1]));
   *   console.log((await opt.read()).length); // 2
   *   opt.dispose();
   *   ctx.device.destroy();
   * }
   * ```
   */
  constructor(ctx: GpuContext, params: Float32Array, options: AdamWOptions) {
    adamWStepConstants(options, 1);
    this.#ctx = ctx;
    this.#options = { ...options };
    this.#length = params.length;
    this.#segments = ctx.segments(params.length).map(([start, end]) => ({
      start,
      end,
      param: ctx.upload(params.subarray(start, end), "adamw-param"),
      m: ctx.storage((end - start) * 4, "adamw-m"),
      v: ctx.storage((end - start) * 4, "adamw-v"),
      grad: ctx.storage((end - start) * 4, "adamw-grad"),
    }));
  }

  /** Steps taken so far. */
  get step(): number {
    return this.#step;
  }

  /** Uploads the gradient and applies one update on the device (no readback). */
  update(grad: Float32Array): Promise<void> {
    checkGradientLength(grad, this.#length);
    this.#step++;
    const c = adamWStepConstants(this.#options, this.#step);
    const ctx = this.#ctx;
    const pipeline = ctx.pipeline("adamw", ADAMW_WGSL);
    const encoder = ctx.device.createCommandEncoder();
    for (const s of this.#segments) {
      const n = s.end - s.start;
      ctx.device.queue.writeBuffer(s.grad, 0, grad.subarray(s.start, s.end) as Float32Array<ArrayBuffer>);
      const [gx, gy] = GpuContext.grid(n, 256);
      const params = ctx.uniform([
        { u: n },
        { u: gx },
        { u: 0 },
        { u: 0 },
        { f: c.beta1 },
        { f: c.beta2 },
        { f: c.eps },
        { f: 1 - c.lr * c.weightDecay },
        { f: c.stepSize },
        { f: c.biasCorrection2Sqrt },
      ]);
      ctx.dispatch(encoder, pipeline, [params, s.param, s.m, s.v, s.grad], [gx, gy]);
    }
    ctx.submit(encoder);
    return Promise.resolve();
  }

  /** Copies the parameters back. */
  async read(): Promise<Float32Array> {
    const out = new Float32Array(this.#length);
    for (const s of this.#segments) {
      const encoder = this.#ctx.device.createCommandEncoder();
      out.set(await this.#ctx.read(encoder, s.param, (s.end - s.start) * 4), s.start);
    }
    return out;
  }

  /** Frees the device buffers. */
  dispose(): void {
    for (const s of this.#segments) for (const b of [s.param, s.m, s.v, s.grad]) b.destroy();
  }
}
