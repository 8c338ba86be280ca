/**
 * torch's CPU random generator, reimplemented: `new TorchGenerator(seed)` draws the numbers that
 * `torch.Generator().manual_seed(seed)` draws, so initial latents (and ancestral noise) equal those of
 * diffusers and ComfyUI for the same seed.
 *
 * How torch draws (as checked against torch 2.13 in tests/fixtures/noise/torch_randn.json):
 * - the engine is MT19937 seeded with the seed's low 32 bits (seeds 5 and 2^32 + 5 draw the same);
 * - a float32 uniform is the low 24 bits of one 32-bit draw times 2^−24; a float64 uniform is the low 53
 *   bits of two draws (the first one high) times 2^−53;
 * - normals for a contiguous float32 tensor of n ≥ 16 values: n float32 uniforms first, then Box–Muller
 *   on each block of 16 (u₁ = 1 − x[j], u₂ = x[j+8], r = √(−2 ln u₁), θ = 2π·u₂, x[j] = r cos θ,
 *   x[j+8] = r sin θ, j < 8); when n is not a multiple of 16 the last 16 values are drawn again and
 *   transformed once more;
 * - for n < 16 each value is a float64 Box–Muller normal from two float64 uniforms (θ from the first,
 *   r = √(−2 ln(1 − u₂)) from the second), r cos θ returned and r sin θ kept for the next value; that kept
 *   value lives in the generator, so it carries over to later calls.
 *
 * The n ≥ 16 path's float32 log, sin and cos depend on the CPU torch runs on: x86 builds with AVX2 use
 * vectorised Cephes polynomials (the `avx2` kernel here, the default, bit-exact), others (as far as we
 * know AVX-512 CPUs, ARM and Windows builds) call libm (the `scalar` kernel, within 2 float32 ulps of
 * glibc's). The two differ by up to 2·10⁻⁶ per value: far below what an image shows.
 *
 * @module
 */

import { cephesLogf, cephesSinCosf, fmaf } from "./cephes_f32.ts";
import { Mt19937 } from "./mt19937.ts";
import type { NoiseSource } from "./noise.ts";

/** Which of torch's float32 normal kernels to reproduce for n ≥ 16 values. */
export type TorchNormalKernel = "avx2" | "scalar";

/** Options of {@linkcode TorchGenerator}. */
export interface TorchGeneratorOptions {
  /** The kernel of the torch build to match (default `avx2`, x86 Linux and macOS). */
  kernel?: TorchNormalKernel;
}

const f = Math.fround;
const TWO_PI_F32 = f(2 * Math.PI);
const TWO_POW_24 = 2 ** -24;
const TWO_POW_53 = 2 ** -53;
const BLOCK = 16;

/**
 * A stream with torch's CPU generator numbers for a seed.
 *
 * @example
 * ```ts
 * import { TorchGenerator } from "./torch_generator.ts";
 * const g = new TorchGenerator(0);
 * const latents = g.fillNormal(new Float32Array(4 * 8 * 8)); // torch.randn([1, 4, 8, 8], generator=g)
 * const noise = g.fillNormal(new Float32Array(4 * 8 * 8)); // the next call on the same generator
 * ```
 */
export class TorchGenerator implements NoiseSource {
  /** The seed, as given. */
  readonly seed: number | bigint;
  /** The normal kernel reproduced. */
  readonly kernel: TorchNormalKernel;
  #engine: Mt19937;
  #spare: number | null = null;
  #sinCos: Float64Array = new Float64Array(2);

  /**
   * The stream of `torch.Generator().manual_seed(seed)`: any integer seed torch accepts (a bigint for
   * seeds past 2^53).
   */
  constructor(seed: number | bigint, options: TorchGeneratorOptions = {}) {
    if (typeof seed === "bigint") {
      if (seed < -(2n ** 63n) || seed >= 2n ** 64n) {
        throw new Error(`TorchGenerator: seed ${seed} is outside torch's range [-2^63, 2^64)`);
      }
    } else if (!Number.isInteger(seed)) {
      throw new Error(`TorchGenerator: seed must be an integer, got ${seed}`);
    }
    const kernel = options.kernel ?? "avx2";
    if (kernel !== "avx2" && kernel !== "scalar") {
      throw new Error(`TorchGenerator: kernel must be "avx2" or "scalar", got "${kernel}"`);
    }
    this.seed = seed;
    this.kernel = kernel;
    // torch seeds its MT19937 with the low 32 bits of the 64-bit seed.
    const low = typeof seed === "bigint" ? Number(BigInt.asUintN(32, seed)) : seed % 2 ** 32;
    this.#engine = new Mt19937(low);
  }

  /** The next 32-bit draw (torch's `random()`). */
  nextUint32(): number {
    return this.#engine.next();
  }

  /** A float32 uniform in [0, 1) as `torch.rand` draws it: 24 bits of one draw. */
  uniformFloat(): number {
    return (this.#engine.next() & 0xffffff) * TWO_POW_24;
  }

  /** A float64 uniform in [0, 1) as torch draws it for doubles: 53 bits of two draws, the first high. */
  uniformDouble(): number {
    const high = this.#engine.next() & 0x1fffff, low = this.#engine.next();
    return (high * 2 ** 32 + low) * TWO_POW_53;
  }

  /** A float64 standard normal from torch's scalar normal distribution (two per pair of uniforms). */
  normalDouble(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    const u1 = this.uniformDouble(), u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log1p(-u2));
    const theta = 2 * Math.PI * u1;
    this.#spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Fills `out` with float32 uniforms in [0, 1), as `torch.rand(out.length, generator=g)`. */
  fillUniform(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.uniformFloat();
    return out;
  }

  /**
   * Fills `out` as `t.normal_(mean, std, generator=g)` fills a contiguous float32 tensor `t` of
   * `out.length` values (with the defaults, `torch.randn(out.length, generator=g)`).
   */
  fillNormal(out: Float32Array, std = 1, mean = 0): Float32Array {
    const n = out.length;
    if (n < BLOCK) {
      for (let i = 0; i < n; i++) out[i] = this.normalDouble() * std + mean;
      return out;
    }
    this.fillUniform(out);
    for (let i = 0; i + BLOCK <= n; i += BLOCK) this.#boxMuller16(out, i, std, mean);
    if (n % BLOCK !== 0) {
      this.fillUniform(out.subarray(n - BLOCK));
      this.#boxMuller16(out, n - BLOCK, std, mean);
    }
    return out;
  }

  /** Box–Muller on the 16 uniforms at `o`: 8 pairs (x[o+j], x[o+j+8]) become 8 pairs of normals. */
  #boxMuller16(x: Float32Array, o: number, std: number, mean: number): void {
    const s = f(std), m = f(mean);
    const plain = s === 1 && m === 0;
    if (this.kernel === "scalar") {
      for (let j = 0; j < 8; j++) {
        const u1 = 1 - x[o + j], u2 = x[o + j + 8];
        const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
        const theta = f(2 * Math.PI * u2);
        x[o + j] = f(f(radius * f(Math.cos(theta))) * s) + m;
        x[o + j + 8] = f(f(radius * f(Math.sin(theta))) * s) + m;
      }
      return;
    }
    const sc = this.#sinCos;
    for (let j = 0; j < 8; j++) {
      const u1 = 1 - x[o + j], u2 = x[o + j + 8];
      const radius = f(Math.sqrt(-2 * cephesLogf(u1)));
      cephesSinCosf(f(TWO_PI_F32 * u2), sc);
      const n1 = f(radius * sc[1]), n2 = f(radius * sc[0]);
      x[o + j] = plain ? n1 : fmaf(n1, s, m);
      x[o + j + 8] = plain ? n2 : fmaf(n2, s, m);
    }
  }
}

/**
 * `n` normals as `torch.randn(n, generator=torch.Generator().manual_seed(seed))` draws them.
 *
 * @example
 * ```ts
 * import { torchRandn } from "./torch_generator.ts";
 * torchRandn(3, 0); // [1.5409960746765137, -0.293428897857666, -2.1787893772125244]
 * ```
 */
export function torchRandn(
  n: number,
  seed: number | bigint,
  options: TorchGeneratorOptions = {},
): Float32Array {
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`torchRandn: n must be a non-negative integer, got ${n}`);
  }
  return new TorchGenerator(seed, options).fillNormal(new Float32Array(n));
}
