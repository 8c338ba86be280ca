/**
 * Parity of every scheduler with diffusers 0.42.1, step by step, on the fixtures written by
 * tests/reference/scheduler_fixtures.py: the diffusers `scheduler_config.json` of each case is read with
 * {@linkcode parseSchedulerConfig}, the same fake model is run, and timesteps, sigmas, the initial-noise σ
 * and every step's latents must match (max abs error ≤ 1e-4).
 *
 * @module
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseSchedulerConfig, schedulerFromDiffusers } from "./scheduler_config.ts";

interface FixtureCase {
  name: string;
  config: Record<string, unknown>;
  steps: number;
  timesteps: number[];
  sigmas: number[] | null;
  init_noise_sigma: number;
  eta: number;
  noise: string | null;
  outputs: string;
}

interface Fixture {
  shape: number[];
  init_latents: string;
  cases: FixtureCase[];
}

const GROUPS = ["ddim", "euler", "euler_ancestral", "lms", "dpm_solver", "pndm"];

function fixture(group: string): Fixture {
  const url = new URL(`../../tests/fixtures/schedulers/${group}.json`, import.meta.url);
  return JSON.parse(readFileSync(fileURLToPath(url), "utf8"));
}

function floats(b64: string): Float32Array {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/** The fixture's fake network: out[i] = 0.5·x[i] + 0.4·sin(0.37·i + 0.0031·t). */
function fakeModel(x: Float32Array, t: number): Float32Array {
  return x.map((v, i) => 0.5 * v + 0.4 * Math.sin(0.37 * i + 0.0031 * t));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const group of GROUPS) {
  const fx = fixture(group);
  for (const c of fx.cases) {
    Deno.test(`scheduler parity with diffusers: ${c.name}`, () => {
      const parsed = parseSchedulerConfig(c.config, `${group}.json: ${c.name}`);
      const { scheduler } = schedulerFromDiffusers(parsed, c.steps, undefined, { eta: c.eta });
      // Fractional Karras timesteps are float32 in diffusers and float64→float32 here.
      assert.ok(maxAbsDiff(scheduler.timesteps, c.timesteps) < 2e-3, `timesteps ${scheduler.timesteps}`);
      if (c.sigmas) {
        const rel = c.sigmas.map((s, i) => Math.abs(scheduler.sigmas![i] - s) / Math.max(s, 1e-3));
        assert.ok(Math.max(...rel) < 5e-7, `sigmas ${scheduler.sigmas} vs ${c.sigmas}`);
      } else {
        assert.equal(scheduler.sigmas, null);
      }
      assert.ok(Math.abs(scheduler.initNoiseSigma - c.init_noise_sigma) < 1e-5);

      const n = fx.shape.reduce((a, b) => a * b, 1);
      const expected = floats(c.outputs);
      const noise = c.noise === null ? null : floats(c.noise);
      assert.equal(expected.length, n * scheduler.timesteps.length);
      let latents: Float32Array = floats(fx.init_latents).map((v) => v * c.init_noise_sigma);
      let worst = 0;
      let noiseStep = 0;
      for (let i = 0; i < scheduler.timesteps.length; i++) {
        const input = scheduler.scaleModelInput(latents, i);
        const out = fakeModel(input, c.timesteps[i]);
        const z = noise === null ? undefined : noise.subarray(n * noiseStep, n * ++noiseStep);
        latents = scheduler.step(out, i, latents, z);
        const err = maxAbsDiff(latents, expected.subarray(n * i, n * (i + 1)));
        worst = Math.max(worst, err);
        assert.ok(err <= 1e-4, `step ${i}: max abs error ${err}`);
      }
      assert.ok(worst <= 1e-4);
    });
  }
}
