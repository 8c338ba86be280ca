/**
 * Small helpers over a GPU device shared by all kernel wrappers: cached pipelines (created with the
 * synchronous `createComputePipeline`; `createComputePipelineAsync` is broken in some Deno versions),
 * buffers, uniforms, dispatch and readback.
 *
 * @module
 */

import type { GpuDevice } from "./device.ts";

/** A value of a uniform struct: `u` for u32, `f` for f32. */
export type UniformField = { u: number } | { f: number };

/** Device plus caches; one per backend. */
export class GpuContext {
  /** The device. */
  readonly device: GPUDevice;
  /** Largest storage binding the kernels may use, bytes (may be lowered for tests). */
  readonly maxBindingBytes: number;
  /** Whether `shader-f16` is enabled. */
  readonly hasF16: boolean;
  readonly #pipelines = new Map<string, GPUComputePipeline>();
  /** Uniform buffers of recorded-but-not-yet-submitted work, destroyed once it is submitted. */
  #transient: GPUBuffer[] = [];

  /**
   * Wraps an opened device. `maxBindingBytes` lowers the binding limit (to exercise splitting in tests).
   *
   * @example
   * ```ts
   * import { openDevice, probeAdapter } from "./device.ts";
   * import { GpuContext } from "./context.ts";
   * const probe = await probeAdapter();
   * if (probe.status === "ok") {
   *   const ctx = new GpuContext(await openDevice(probe));
   *   console.log(ctx.maxBindingBytes > 0); // true
   *   ctx.device.destroy();
   * }
   * ```
   */
  constructor(gpu: GpuDevice, maxBindingBytes?: number) {
    this.device = gpu.device;
    this.hasF16 = gpu.hasF16;
    this.maxBindingBytes = Math.min(gpu.maxBindingBytes, maxBindingBytes ?? Infinity);
  }

  /** The compute pipeline for `code` (entry `main`), compiled once. */
  pipeline(key: string, code: string): GPUComputePipeline {
    let p = this.#pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ label: key, code });
      p = this.device.createComputePipeline({
        label: key,
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
      this.#pipelines.set(key, p);
    }
    return p;
  }

  /** A storage buffer holding `data` (padded to a multiple of 16 bytes). */
  upload(data: Float32Array | Float16Array | Uint32Array, label = "data"): GPUBuffer {
    const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const buffer = this.device.createBuffer({
      label,
      size,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    if (data.byteLength > 0) {
      const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
      // writeBuffer needs a multiple of 4 bytes; f16 data of odd length is padded through a copy.
      if (bytes.byteLength % 4 === 0) this.device.queue.writeBuffer(buffer, 0, bytes);
      else {
        const padded = new Uint8Array(Math.ceil(bytes.byteLength / 4) * 4);
        padded.set(bytes);
        this.device.queue.writeBuffer(buffer, 0, padded);
      }
    }
    return buffer;
  }

  /** An uninitialised (zeroed) storage buffer of `bytes` bytes. */
  storage(bytes: number, label = "scratch"): GPUBuffer {
    return this.device.createBuffer({
      label,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
  }

  /** A uniform buffer with the fields packed as 4-byte words (padded to 16 bytes). */
  uniform(fields: UniformField[]): GPUBuffer {
    const words = Math.max(4, Math.ceil(fields.length / 4) * 4);
    const raw = new ArrayBuffer(words * 4);
    const u = new Uint32Array(raw);
    const f = new Float32Array(raw);
    fields.forEach((field, i) => {
      if ("u" in field) u[i] = field.u;
      else f[i] = field.f;
    });
    const buffer = this.device.createBuffer({
      label: "params",
      size: raw.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.device.queue.writeBuffer(buffer, 0, raw);
    this.#transient.push(buffer);
    return buffer;
  }

  /** Records one dispatch of `pipeline` with `buffers` bound at bindings 0, 1, …, in its own pass. */
  dispatch(
    encoder: GPUCommandEncoder,
    pipeline: GPUComputePipeline,
    buffers: GPUBuffer[],
    groups: [number, number?, number?],
  ): void {
    const bindGroup = this.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(groups[0], groups[1] ?? 1, groups[2] ?? 1);
    pass.end();
  }

  /** Submits `encoder` after copying `buffer`'s first `bytes` bytes out, and resolves with them as f32. */
  async read(encoder: GPUCommandEncoder, buffer: GPUBuffer, bytes: number): Promise<Float32Array> {
    const [out] = await this.readMany(encoder, [[buffer, bytes]]);
    return out;
  }

  /** Like {@linkcode GpuContext.read} for several buffers in one submission. */
  async readMany(encoder: GPUCommandEncoder, sources: [GPUBuffer, number][]): Promise<Float32Array[]> {
    const staging = sources.map(([buffer, bytes]) => {
      const size = Math.max(16, Math.ceil(bytes / 16) * 16);
      const s = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      encoder.copyBufferToBuffer(buffer, 0, s, 0, size);
      return s;
    });
    this.submit(encoder);
    const out: Float32Array[] = [];
    for (let i = 0; i < staging.length; i++) {
      await staging[i].mapAsync(GPUMapMode.READ);
      out.push(new Float32Array(staging[i].getMappedRange().slice(0, sources[i][1])));
      staging[i].unmap();
      staging[i].destroy();
    }
    return out;
  }

  /**
   * Submits `encoder` and releases the uniform buffers recorded so far. Every wrapper records and
   * submits without awaiting in between, so all those uniforms belong to submitted work (WebGPU defers
   * the actual destruction until that work completes).
   */
  submit(encoder: GPUCommandEncoder): void {
    this.device.queue.submit([encoder.finish()]);
    for (const buffer of this.#transient) buffer.destroy();
    this.#transient = [];
  }

  /** `[start, end)` pieces of a float32 array of `length` values that each fit one binding. */
  segments(length: number): [number, number][] {
    const limit = Math.floor(this.maxBindingBytes / 4);
    const out: [number, number][] = [];
    for (let s = 0; s < length; s += limit) out.push([s, Math.min(length, s + limit)]);
    return out;
  }

  /** Workgroup counts for `items` invocations of `size`-wide groups, split over x and y to respect 65535. */
  static grid(items: number, size: number): [number, number] {
    const groups = Math.max(1, Math.ceil(items / size));
    if (groups <= 65535) return [groups, 1];
    const y = Math.ceil(groups / 65535);
    return [Math.ceil(groups / y), y];
  }
}
