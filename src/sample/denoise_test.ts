import assert from "node:assert/strict";
import { createScheduler } from "./create_scheduler.ts";
import { denoise, guided } from "./denoise.ts";
import { initialLatents } from "./latents.ts";
import { Random } from "./random.ts";
import { SCHEDULER_KINDS } from "./scheduler.ts";

// A data set of one point: the ideal ε-predictor for x0 at σ (the input is x/√(σ²+1) for σ samplers).
const X0 = Float32Array.from({ length: 32 }, (_, i) => Math.cos(i) * 0.7);

Deno.test("denoise runs every scheduler to the data point with an ideal network", async () => {
  for (const kind of SCHEDULER_KINDS) {
    const scheduler = createScheduler(kind, { predictionType: "epsilon" }, 25);
    const steps: number[] = [];
    // The network sees only the scaled input; recover σ from the timestep as a real UNet would.
    const out = await denoise({
      scheduler,
      latents: initialLatents([32], 4, scheduler.initNoiseSigma),
      noise: new Random(4, "ancestral"),
      predict: (input, _t, i) => {
        const sigma = scheduler.sigmas?.[i];
        if (sigma !== undefined) {
          const x = input.map((v) => v * Math.sqrt(sigma * sigma + 1));
          return x.map((v, j) => (v - X0[j]) / sigma);
        }
        // DDIM/PNDM: input is √ᾱ·x0 + √(1−ᾱ)·ε; ᾱ from the public noise schedule via the timestep.
        const t = scheduler.timesteps[i];
        const beta = (k: number) =>
          (Math.sqrt(0.00085) + (Math.sqrt(0.012) - Math.sqrt(0.00085)) * k / 999) ** 2;
        let ac = 1;
        for (let k = 0; k <= t; k++) ac *= 1 - beta(k);
        return input.map((v, j) => (v - Math.sqrt(ac) * X0[j]) / Math.sqrt(1 - ac));
      },
      onStep: ({ stepIndex, total }) => {
        steps.push(stepIndex);
        assert.equal(total, scheduler.timesteps.length);
      },
    });
    assert.equal(steps.length, scheduler.timesteps.length);
    const tolerance = scheduler.sigmas ? 1e-3 : 0.12; // DDIM/PNDM stop at ᾱ_0, keeping σ ≈ 0.03 of noise
    const err = Math.max(...out.map((v, j) => Math.abs(v - X0[j])));
    assert.ok(err < tolerance, `${kind}: ${err}`);
  }
});

Deno.test("denoise: guidance, abort, noise and shape errors", async () => {
  const scheduler = createScheduler("euler", {}, 3);
  const seen: number[] = [];
  const latents = await denoise({
    scheduler,
    latents: new Float32Array(4),
    predict: guided((x, t) => (seen.push(t), [x.map(() => 0), x.map(() => 1)]), 2),
  });
  assert.equal(seen.length, 3);
  assert.ok(latents.every((v) => v < 0), "guided ε = 2 moves the latents down");

  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    denoise({
      scheduler: createScheduler("lms", {}, 3),
      latents: new Float32Array(2),
      predict: (x) => x,
      signal: controller.signal,
    }),
  );
  await assert.rejects(
    denoise({
      scheduler: createScheduler("euler-ancestral", {}, 3),
      latents: new Float32Array(2),
      predict: (x) => x,
    }),
    /pass options\.noise/,
  );
  await assert.rejects(
    denoise({
      scheduler: createScheduler("ddim", {}, 3),
      latents: new Float32Array(2),
      predict: () => new Float32Array(3),
    }),
    /predict returned 3 values at step 0/,
  );
});
