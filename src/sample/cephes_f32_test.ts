import assert from "node:assert/strict";
import { cephesLogf, cephesSinCosf, fmaf } from "./cephes_f32.ts";
import { Random } from "./random.ts";

const f = Math.fround;
const bits = new Float32Array(1), words = new Uint32Array(bits.buffer);

/** The float32 next to the positive float32 `x`, one step up or down. */
function step(x: number, dir: 1 | -1): number {
  bits[0] = x;
  words[0] += x >= 0 ? dir : -dir;
  return bits[0];
}

/** An exact integer image of a float32 (scaled by 2^200; our test values are far from underflow). */
function big(x: number, scale = 200): bigint {
  return BigInt(x * 2 ** scale);
}

/** Whether `r` is the round-to-nearest-even float32 of the exact a·b + c. */
function correctlyRounded(a: number, b: number, c: number, r: number): boolean {
  const exact = big(a) * big(b) + big(c) * 2n ** 200n; // everything scaled by 2^400
  const dist = (v: number) => {
    const d = big(v) * 2n ** 200n - exact;
    return d < 0n ? -d : d;
  };
  const here = dist(r);
  for (const n of [step(r, 1), step(r, -1)]) {
    const there = dist(n);
    if (there < here) return false;
    if (there === here) {
      bits[0] = r;
      if (words[0] & 1) return false; // a tie goes to the even mantissa
    }
  }
  return true;
}

Deno.test("fmaf rounds a·b + c once, also where float64 lands on a float32 midpoint", () => {
  // (1 + 2⁻²³)·2⁻²⁴(1 − 2⁻²³) = 2⁻²⁴ − 2⁻⁷⁰: added to an odd-mantissa float it lands, in float64, exactly
  // halfway; the exact value lies just below (or, negated, just above) the midpoint.
  const a = f(1 + 2 ** -23), b = f(2 ** -24 * (1 - 2 ** -23));
  const odd = f(1 + 2 ** -23), odd3 = f(1 + 3 * 2 ** -23);
  assert.equal(fmaf(a, b, odd), odd, "below the midpoint: stays");
  assert.equal(f(a * b + odd), f(1 + 2 ** -22), "(plain float64 rounding gets it wrong)");
  assert.equal(fmaf(-a, b, odd3), odd3, "above the midpoint: stays");
  assert.ok(correctlyRounded(a, b, odd, fmaf(a, b, odd)));
  const rng = new Random(11, "fmaf");
  for (let i = 0; i < 20000; i++) {
    const x = f((rng.uniform() - 0.5) * 2 ** (rng.uniform() * 40 - 20));
    const y = f((rng.uniform() - 0.5) * 2 ** (rng.uniform() * 40 - 20));
    const z = f((rng.uniform() - 0.5) * 2 ** (rng.uniform() * 40 - 20));
    assert.ok(correctlyRounded(x, y, z, fmaf(x, y, z)), `fmaf(${x}, ${y}, ${z})`);
  }
});

Deno.test("cephesLogf and cephesSinCosf stay within 2 float32 ulps of the true values", () => {
  const rng = new Random(3, "cephes");
  const sc = new Float64Array(2);
  assert.equal(cephesLogf(1), 0);
  for (let i = 0; i < 20000; i++) {
    // u₁ of the Box–Muller step: 1 − k·2⁻²⁴, down to 2⁻²⁴
    const u = 1 - (rng.nextUint32() & 0xffffff) * 2 ** -24;
    const log = Math.log(u), got = cephesLogf(u);
    assert.ok(Math.abs(got - log) <= 2 * 2 ** (Math.floor(Math.log2(Math.abs(log) || 1)) - 23), `log ${u}`);
    const theta = f(f(2 * Math.PI) * (rng.nextUint32() & 0xffffff) * 2 ** -24);
    cephesSinCosf(theta, sc);
    assert.ok(Math.abs(sc[0] - Math.sin(theta)) <= 2 ** -23, `sin ${theta}`);
    assert.ok(Math.abs(sc[1] - Math.cos(theta)) <= 2 ** -23, `cos ${theta}`);
    assert.equal(f(sc[0]), sc[0]);
  }
  cephesSinCosf(f(-Math.PI / 6), sc);
  assert.ok(Math.abs(sc[0] + 0.5) < 1e-7 && Math.abs(sc[1] - Math.sqrt(3) / 2) < 1e-7);
});
