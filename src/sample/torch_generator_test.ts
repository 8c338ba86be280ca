/**
 * TorchGenerator against torch 2.13's own draws (tests/fixtures/noise/torch_randn.json, written by
 * `python3 tests/reference/torch_noise_fixtures.py`).
 */
import assert from "node:assert/strict";
import { TorchGenerator, type TorchNormalKernel, torchRandn } from "./torch_generator.ts";

interface Summary {
  n: number;
  sum: number;
  sumsq: number;
  values?: number[];
  head?: number[];
  tail?: number[];
}
interface Case {
  seed: number;
  calls: number[];
  mean?: number;
  std?: number;
  out: Summary[];
}
interface Fixture {
  torch: string;
  uniform: { seed: number; values: number[] }[];
  avx2: Case[];
  scalar: Case[];
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../tests/fixtures/noise/torch_randn.json", import.meta.url)),
);

/** Runs every case with `kernel`; returns the largest |ours − torch| over stored values and sums. */
function compare(kernel: TorchNormalKernel): { values: number; maxDiff: number; maxSumDiff: number } {
  let values = 0, maxDiff = 0, maxSumDiff = 0;
  for (const c of fixture[kernel]) {
    const g = new TorchGenerator(c.seed, { kernel });
    c.calls.forEach((n, k) => {
      const x = g.fillNormal(new Float32Array(n), c.std, c.mean);
      const want = c.out[k];
      assert.equal(want.n, n);
      const pairs: [number[], Float32Array][] = want.values
        ? [[want.values, x]]
        : [[want.head!, x.subarray(0, want.head!.length)], [want.tail!, x.subarray(n - want.tail!.length)]];
      for (const [expected, got] of pairs) {
        expected.forEach((e, i) => {
          maxDiff = Math.max(maxDiff, Math.abs(got[i] - e));
          values++;
        });
      }
      let sum = 0, sumsq = 0;
      for (const v of x) {
        sum += v;
        sumsq += v * v;
      }
      maxSumDiff = Math.max(maxSumDiff, Math.abs(sum - want.sum), Math.abs(sumsq - want.sumsq) / n);
    });
  }
  return { values, maxDiff, maxSumDiff };
}

Deno.test("TorchGenerator: uniforms are torch.rand's, and only the low 32 bits of the seed count", () => {
  for (const { seed, values } of fixture.uniform) {
    assert.deepEqual([...new TorchGenerator(seed).fillUniform(new Float32Array(8))], values, `seed ${seed}`);
  }
  const five = torchRandn(40, 5);
  assert.deepEqual(torchRandn(40, 2 ** 32 + 5), five);
  assert.deepEqual(torchRandn(40, 2n ** 40n + 5n), five);
  assert.deepEqual(torchRandn(40, -1), torchRandn(40, 2n ** 64n - 1n));
});

Deno.test("TorchGenerator (avx2 kernel) draws torch's normals bit for bit", () => {
  // Every size path (n < 16, multiples of 16, a redrawn last block), normal_(mean, std), and calls in a
  // row on one generator (the stream and the cached scalar normal carry over). Sums cover all values.
  const { values, maxDiff, maxSumDiff } = compare("avx2");
  assert.ok(values > 2000);
  assert.equal(maxDiff, 0);
  assert.equal(maxSumDiff, 0);
});

Deno.test("TorchGenerator (scalar kernel) matches torch's libm kernel within 2 float32 ulps", () => {
  // glibc's logf/sinf/cosf are not always correctly rounded; ours are (via float64): ≤ 2 ulps apart.
  const { maxDiff, maxSumDiff } = compare("scalar");
  assert.ok(maxDiff <= 2.5e-7, `max |diff| ${maxDiff}`);
  assert.ok(maxSumDiff <= 1e-5, `sum diff ${maxSumDiff}`);
});

Deno.test("TorchGenerator: n < 16 values come from the double path with a carried spare", () => {
  const g = new TorchGenerator(0);
  const three = g.fillNormal(new Float32Array(3));
  assert.deepEqual([...three], [1.5409960746765137, -0.293428897857666, -2.1787893772125244]);
  // The 4th normal of the pair stream was kept: a fresh generator drawing 4 at once agrees.
  const one = g.fillNormal(new Float32Array(1));
  assert.equal(one[0], torchRandn(4, 0)[3]);
  assert.throws(() => new TorchGenerator(0.5), /seed must be an integer/);
  assert.throws(() => new TorchGenerator(2n ** 64n), /outside torch's range/);
  assert.throws(() => new TorchGenerator(1, { kernel: "neon" as TorchNormalKernel }), /kernel must be/);
  assert.throws(() => torchRandn(-1, 0), /non-negative integer/);
});
