import assert from "node:assert/strict";
import { CpuBackend } from "../../../kernels/cpu/backend.ts";
import { Random } from "../../sample/random.ts";
import { keyDrift, keyProjector, queryProjector } from "./key_preservation.ts";

Deno.test("key projector: one preserved row gives I − φφᵀ/(‖φ‖² + λ) (Sherman–Morrison)", async () => {
  const rng = new Random(7, "phi");
  const d = 7, rho = 0.05;
  const phi = Float32Array.from({ length: d }, () => rng.normal());
  const norm2 = phi.reduce((s, v) => s + v * v, 0);
  const lambda = rho * norm2 / d;
  const m = await keyProjector(new CpuBackend(), phi, d, rho);
  let worst = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      const expected = (i === j ? 1 : 0) - phi[i] * phi[j] / (norm2 + lambda);
      worst = Math.max(worst, Math.abs(m[i * d + j] - expected));
    }
  }
  assert.ok(worst < 1e-6, `max error ${worst}`);
});

Deno.test("key projector: shrinks used directions, keeps unused ones; symmetric", async () => {
  const rng = new Random(8, "rows");
  const d = 9;
  // Rows in the first 4 coordinates only.
  const rows = new Float32Array(30 * d);
  for (let r = 0; r < 30; r++) for (let j = 0; j < 4; j++) rows[r * d + j] = rng.normal();
  const m = await keyProjector(new CpuBackend(), rows, d, 0.05);
  for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) assert.equal(m[i * d + j], m[j * d + i]);
  for (let i = 4; i < d; i++) assert.ok(Math.abs(m[i * d + i] - 1) < 1e-6);
  for (let i = 0; i < 4; i++) assert.ok(m[i * d + i] < 0.2, `m[${i},${i}] = ${m[i * d + i]}`);
  // A delta through M leaves the preserved rows' keys nearly unchanged.
  const w0 = Float32Array.from({ length: 3 * d }, () => rng.normal());
  const raw = Float32Array.from({ length: 3 * d }, () => rng.normal());
  const w1 = new Float32Array(3 * d);
  for (let o = 0; o < 3; o++) {
    for (let j = 0; j < d; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) s += raw[o * d + k] * m[k * d + j];
      w1[o * d + j] = w0[o * d + j] + s;
    }
  }
  const withM = await keyDrift(new CpuBackend(), w0, w1, 3, rows);
  const without = await keyDrift(new CpuBackend(), w0, w0.map((v, i) => v + raw[i]), 3, rows);
  assert.ok(withM < 0.1 * without, `${without} → ${withM}`);
});

Deno.test("key projector: bad input is refused with the reason", async () => {
  await assert.rejects(() => keyProjector(new CpuBackend(), new Float32Array(5), 3), /whole rows of width 3/);
  await assert.rejects(() => keyProjector(new CpuBackend(), new Float32Array(3), 3), /all zero/);
  await assert.rejects(() => keyProjector(new CpuBackend(), new Float32Array([1, 2, 3]), 3, 0), /ridge/);
});

Deno.test("query projector: block-diagonal by head, symmetric, shrinks the preserved keys' directions", async () => {
  const rng = new Random(10, "query");
  const channels = 6, heads = 2, width = 5, d = channels / heads;
  const wk = Float32Array.from({ length: channels * width }, () => rng.normal());
  // Rows along one context direction: each head's preserved keys span one direction of that head.
  const dir = Float32Array.from({ length: width }, () => rng.normal());
  const rows = new Float32Array(8 * width);
  for (let r = 0; r < 8; r++) {
    const a = rng.normal();
    for (let j = 0; j < width; j++) rows[r * width + j] = a * dir[j];
  }
  const m = await queryProjector(new CpuBackend(), rows, wk, channels, heads, 0.05);
  for (let i = 0; i < channels; i++) {
    for (let j = 0; j < channels; j++) {
      assert.equal(m[i * channels + j], m[j * channels + i]);
      if (Math.floor(i / d) !== Math.floor(j / d)) assert.equal(m[i * channels + j], 0, `m[${i},${j}]`);
    }
  }
  // The preserved key of each head: k = W_k·dir; M·k is small against k, a vector ⟂ k is kept.
  const k = Array.from({ length: channels }, (_, o) => dir.reduce((s, v, j) => s + wk[o * width + j] * v, 0));
  for (let h = 0; h < heads; h++) {
    const kh = k.slice(h * d, (h + 1) * d);
    const mk = kh.map((_, i) => kh.reduce((s, v, j) => s + m[(h * d + i) * channels + h * d + j] * v, 0));
    const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    assert.ok(norm(mk) < 0.1 * norm(kh), `head ${h}: |M·k| ${norm(mk)} vs |k| ${norm(kh)}`);
    const perp = [kh[1], -kh[0], 0]; // ⟂ kh within the head
    const mp = perp.map((_, i) => perp.reduce((s, v, j) => s + m[(h * d + i) * channels + h * d + j] * v, 0));
    perp.forEach((v, i) => assert.ok(Math.abs(mp[i] - v) < 1e-5, `head ${h}: ⟂ direction kept`));
  }
});

Deno.test("query projector: bad input is refused with the reason", async () => {
  const b = new CpuBackend();
  await assert.rejects(
    () => queryProjector(b, new Float32Array(4), new Float32Array(12), 5, 1),
    /does not have 5 rows/,
  );
  await assert.rejects(
    () => queryProjector(b, new Float32Array(4), new Float32Array(12), 3, 2),
    /in 2 heads/,
  );
  await assert.rejects(
    () => queryProjector(b, new Float32Array(5), new Float32Array(12), 3, 1),
    /whole rows of width 4/,
  );
  await assert.rejects(() => queryProjector(b, new Float32Array(4), new Float32Array(12), 3, 1), /all zero/);
  await assert.rejects(
    () => queryProjector(b, new Float32Array([1, 0, 0, 0]), new Float32Array(12).fill(1), 3, 1, -1),
    /ridge/,
  );
});
