import assert from "node:assert/strict";
import { Mt19937 } from "./mt19937.ts";

Deno.test("Mt19937 gives std::mt19937's outputs", () => {
  // C++ [rand.predef]: the 10000th output of a default-constructed mt19937 (seed 5489) is 4123659995.
  const mt = new Mt19937(5489);
  assert.equal(mt.next(), 3499211612);
  for (let i = 2; i < 10000; i++) mt.next();
  assert.equal(mt.next(), 4123659995);
});

Deno.test("Mt19937 keeps the low 32 bits of the seed and refuses non-integers", () => {
  const a = new Mt19937(7), b = new Mt19937(2 ** 32 + 7), c = new Mt19937(-(2 ** 32) + 7);
  for (let i = 0; i < 5; i++) {
    const v = a.next();
    assert.equal(b.next(), v);
    assert.equal(c.next(), v);
  }
  assert.throws(() => new Mt19937(1.5), /seed must be an integer/);
});
