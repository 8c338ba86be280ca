/**
 * The 32-bit Mersenne Twister (MT19937, Matsumoto & Nishimura 1998), as C++'s `std::mt19937` and
 * torch's CPU generator define it: 624 words of state, seeded by the standard linear recurrence
 * `s[i] = 1812433253 · (s[i−1] ⊕ (s[i−1] ≫ 30)) + i`, regenerated 624 words at a time, each output
 * tempered.
 *
 * @module
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER = 0x80000000;
const LOWER = 0x7fffffff;

/**
 * A Mersenne Twister stream of uniform 32-bit unsigned integers.
 *
 * @example
 * ```ts
 * import { Mt19937 } from "./mt19937.ts";
 * new Mt19937(5489).next(); // 3499211612, the first output of std::mt19937's default seed
 * ```
 */
export class Mt19937 {
  #state: Uint32Array = new Uint32Array(N);
  #index = N;

  /** A stream seeded with the low 32 bits of `seed` (an integer). */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new Error(`Mt19937: seed must be an integer, got ${seed}`);
    const s = this.#state;
    s[0] = seed; // a Uint32Array store keeps the value modulo 2^32
    for (let i = 1; i < N; i++) {
      const prev = s[i - 1];
      s[i] = Math.imul(1812433253, prev ^ (prev >>> 30)) + i;
    }
  }

  /** The next 32-bit output, as a number in [0, 2^32). */
  next(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#state[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Regenerates the whole state block. */
  #twist(): void {
    const s = this.#state;
    // Word k mixes words k, k+1 and k+M (indices modulo N); three loops avoid the modulo.
    let k = 0;
    for (; k < N - M; k++) {
      const y = (s[k] & UPPER) | (s[k + 1] & LOWER);
      s[k] = s[k + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; k < N - 1; k++) {
      const y = (s[k] & UPPER) | (s[k + 1] & LOWER);
      s[k] = s[k + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    const y = (s[N - 1] & UPPER) | (s[0] & LOWER);
    s[N - 1] = s[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.#index = 0;
  }
}
