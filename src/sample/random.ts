/**
 * The project's seeded random generator: the same seed gives the same numbers on every machine and
 * backend, so synthetic weights, training noise and (with `noise: "portable"`) initial latents are
 * reproducible. Images meant to match diffusers use `TorchGenerator` instead.
 *
 * Algorithm: splitmix64-seeded xoshiro128** for uniform 32-bit integers; normals by Box–Muller
 * (both values of each pair are used, in order). Streams are derived from a seed and a label with
 * FNV-1a, so the numbers for one tensor do not depend on the order in which tensors are generated.
 *
 * @module
 */

import type { NoiseSource } from "./noise.ts";

/** A seeded stream of random numbers. */
export class Random implements NoiseSource {
  #s: Uint32Array;
  #spare: number | null = null;

  /** A stream from a numeric seed and an optional label (e.g. a tensor name). */
  constructor(seed: number, label = "") {
    // FNV-1a over the label, mixed with the seed, then splitmix32 to fill the 128-bit state.
    let h = 0x811c9dc5 ^ (seed >>> 0);
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    let x = (h ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x9e3779b1)) >>> 0;
    this.#s = new Uint32Array(4);
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** A uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return r;
  }

  /** A uniform number in [0, 1) with 32 bits of randomness. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A standard normal number (Box–Muller). */
  normal(): number {
    if (this.#spare !== null) {
      const v = this.#spare;
      this.#spare = null;
      return v;
    }
    const u1 = (this.nextUint32() + 1) / 4294967297; // (0, 1]: log never sees 0
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Fills `out` with normals of mean `mean` and standard deviation `std`, and returns it. */
  fillNormal(out: Float32Array, std = 1, mean = 0): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * `n` standard normals from a seed and label, as a Float32Array.
 *
 * @example
 * ```ts
 * import { randn } from "./random.ts";
 * const a = randn(4, 42, "latents");
 * const b = randn(4, 42, "latents"); // the same four numbers
 * ```
 */
export function randn(n: number, seed: number, label = ""): Float32Array {
  return new Random(seed, label).fillNormal(new Float32Array(n));
}

/**
 * Fills `out` with uniform numbers of mean 0 and standard deviation `std` (range ±√3·std): several times
 * faster than normals, for synthetic weights where only the scale matters.
 *
 * @example
 * ```ts
 * import { fillUniformStd, Random } from "./random.ts";
 * fillUniformStd(new Random(1, "w"), new Float32Array(8), 0.02);
 * ```
 */
export function fillUniformStd(rng: Random, out: Float32Array, std: number, mean = 0): Float32Array {
  const a = 2 * Math.sqrt(3) * std / 4294967296, b = mean - Math.sqrt(3) * std;
  for (let i = 0; i < out.length; i++) out[i] = b + a * rng.nextUint32();
  return out;
}
