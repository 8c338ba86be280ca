import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { createScheduler } from "./create_scheduler.ts";
import { classifierFreeGuidance } from "./guidance.ts";
import { initialLatents } from "./latents.ts";
import { Random } from "./random.ts";
import { SCHEDULER_KINDS } from "./scheduler.ts";
import { parseSchedulerConfig, readSchedulerConfig, schedulerFromDiffusers } from "./scheduler_config.ts";
import { alphasCumprod, roundHalfEven, sigmaToTimestep, trainSigmas } from "./noise_schedule.ts";

Deno.test("every scheduler denoises a fake clean signal towards it", () => {
  // With the exact ε of x = x0 + σ·ε (an oracle network), every sampler must land on x0.
  const x0 = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.8);
  for (const kind of SCHEDULER_KINDS) {
    const s = createScheduler(kind, {}, 20);
    const rng = new Random(5, "ancestral");
    let x = initialLatents([64], 9, s.initNoiseSigma);
    for (let i = 0; i < s.timesteps.length; i++) {
      const ac = alphasCumprod("scaled_linear", 0.00085, 0.012, 1000);
      const t = Math.round(s.timesteps[i]);
      const sigma = s.sigmas ? s.sigmas[i] : Math.sqrt((1 - ac[t]) / ac[t]);
      // Euler/LMS samples are x0 + σ·ε; DDIM/PNDM/DPM samples are α·x0 + √(1−α²)·ε with α = 1/√(σ²+1).
      const scale = kind === "dpm++2m" ? 1 / Math.sqrt(sigma * sigma + 1) : s.sigmas ? 1 : Math.sqrt(ac[t]);
      const e = x.map((v, j) => (v / scale - x0[j]) / sigma);
      x = s.step(e, i, x, s.needsNoise ? rng : undefined);
    }
    let err = 0;
    for (let j = 0; j < 64; j++) err = Math.max(err, Math.abs(x[j] - x0[j]));
    // DDIM and PNDM stop at ᾱ_0 (set_alpha_to_one false), keeping σ_0 ≈ 0.03 of the initial noise.
    assert.ok(err < (s.sigmas ? 1e-3 : 0.15), `${kind}: ${err}`);
  }
});

Deno.test("steps must run in order and arrays must match", () => {
  const s = createScheduler("lms", {}, 5);
  const x = new Float32Array(8);
  assert.throws(() => s.step(x, 1, x), /next step is 0/);
  s.step(x, 0, x);
  assert.throws(() => s.step(x, 0, x), /next step is 1/);
  assert.throws(() => s.step(new Float32Array(4), 1, x), /modelOutput has 4 values but latents have 8/);
  assert.throws(() => s.scaleModelInput(x, 5), /outside 0…4/);
});

Deno.test("ancestral steps need noise; a seeded Random makes them reproducible", () => {
  const run = (seed: number): Float32Array => {
    const s = createScheduler("euler-ancestral", {}, 4);
    const rng = new Random(seed, "noise");
    let x = initialLatents([16], 1, s.initNoiseSigma);
    for (let i = 0; i < 4; i++) x = s.step(x.map((v) => v * 0.1), i, x, rng);
    return x;
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
  const s = createScheduler("euler-ancestral", {}, 4);
  assert.throws(
    () => s.step(new Float32Array(2), 0, new Float32Array(2)),
    /pass a noise source \(TorchGenerator, Random\) or a Float32Array/,
  );
  assert.throws(
    () => s.step(new Float32Array(2), 0, new Float32Array(2), new Float32Array(3)),
    /noise has 3/,
  );
  assert.equal(createScheduler("ddim", {}, 4).needsNoise, false);
  assert.equal(createScheduler("ddim", { eta: 1 }, 4).needsNoise, true);
});

Deno.test("bad settings are clear errors", () => {
  assert.throws(() => createScheduler("euler", {}, 0), /positive integer/);
  assert.throws(() => createScheduler("ddim", {}, 2000), /exceed the 1000/);
  assert.throws(() => createScheduler("ddim", { useKarrasSigmas: true }, 10), /Karras/);
  assert.throws(() => createScheduler("euler", { predictionType: "sample" as "epsilon" }, 10), /"sample"/);
  assert.throws(() => createScheduler("nope" as "ddim", {}, 10), /unknown scheduler kind "nope"/);
});

Deno.test("diffusers scheduler_config.json: class mapping, defaults, unsupported keys name the file", async () => {
  const sd15 = {
    _class_name: "PNDMScheduler",
    _diffusers_version: "0.6.0",
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    num_train_timesteps: 1000,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    trained_betas: null,
    clip_sample: false,
  };
  const dir = mkdtempSync(join(tmpdir(), "sched-"));
  writeFileSync(join(dir, "scheduler_config.json"), JSON.stringify(sd15));
  const parsed = await readSchedulerConfig(dir);
  assert.equal(parsed.kind, "pndm");
  const plms = schedulerFromDiffusers(parsed, 10);
  assert.deepEqual(plms.scheduler.timesteps, [901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  assert.deepEqual(plms.notes, []);
  // Another sampler with this model's schedule: the config has no timestep_spacing, so Euler takes its
  // own default ("linspace"), exactly as EulerDiscreteScheduler.from_config does.
  const euler = schedulerFromDiffusers(parsed, 10, "euler").scheduler;
  assert.equal(euler.timesteps[0], 999);
  assert.equal(
    schedulerFromDiffusers(parsed, 10, "euler", { timestepSpacing: "leading" }).scheduler.timesteps[0],
    901,
  );
  // Keys missing from a config take that sampler's diffusers defaults (Euler: linspace, offset 0).
  const bare = schedulerFromDiffusers(
    parseSchedulerConfig({ _class_name: "EulerDiscreteScheduler" }, "x"),
    4,
  );
  assert.deepEqual(bare.scheduler.timesteps, [999, 666, 333, 0]);
  const prk = schedulerFromDiffusers(parseSchedulerConfig({ ...sd15, skip_prk_steps: false }, "a.json"), 10);
  assert.equal(prk.scheduler.timesteps.length, 19); // 3 Runge–Kutta rounds of 4, then 7 PLMS steps
  assert.throws(
    () => schedulerFromDiffusers(parseSchedulerConfig({ ...sd15, skip_prk_steps: false }, "a"), 3),
    /4 steps/,
  );

  const bad = (extra: Record<string, unknown>, re: RegExp): void => {
    const p = parseSchedulerConfig(
      { ...sd15, _class_name: "DPMSolverMultistepScheduler", ...extra },
      "m/s.json",
    );
    assert.throws(() => schedulerFromDiffusers(p, 10), re);
  };
  bad({ rescale_betas_zero_snr: true }, /m\/s\.json: "rescale_betas_zero_snr" is true/);
  bad({ algorithm_type: "sde-dpmsolver++" }, /"algorithm_type" is "sde-dpmsolver\+\+"/);
  bad({ solver_order: 3 }, /"solver_order" is 3/);
  bad({ beta_schedule: "squaredcos_cap_v2" }, /"beta_schedule" is "squaredcos_cap_v2"/);
  bad({ beta_start: "x" }, /"beta_start" must be a number/);
  assert.throws(
    () => parseSchedulerConfig([], "q.json"),
    /q\.json: a scheduler config must be a JSON object/,
  );
  assert.throws(
    () =>
      schedulerFromDiffusers(parseSchedulerConfig({ _class_name: "UniPCMultistepScheduler" }, "u.json"), 5),
    /u\.json: scheduler class "UniPCMultistepScheduler" is not implemented/,
  );
  writeFileSync(join(dir, "broken.json"), "{");
  await assert.rejects(readSchedulerConfig(join(dir, "broken.json")), /broken\.json: not valid JSON/);
  await assert.rejects(readSchedulerConfig(join(dir, "missing.json")), /missing\.json: cannot read/);
});

Deno.test("classifier-free guidance and seeded latents", () => {
  const g = classifierFreeGuidance(Float32Array.of(1, 2), Float32Array.of(3, 2), 7.5);
  assert.deepEqual([...g], [16, 2]);
  assert.throws(() => classifierFreeGuidance(new Float32Array(1), new Float32Array(2), 1), /uncond has 1/);
  const a = initialLatents([1, 4, 8, 8], 42, 2);
  assert.deepEqual(a, initialLatents([1, 4, 8, 8], 42, 2));
  let sum = 0, sq = 0;
  for (const v of a) (sum += v), (sq += v * v);
  assert.ok(Math.abs(sq / a.length - 4) < 1.2, "variance ≈ σ²");
  assert.throws(() => initialLatents([1, 0], 1), /positive integers/);
});

Deno.test("noise schedule helpers", () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, 3.2].map(roundHalfEven), [0, 2, 2, -0, 3]);
  const s = trainSigmas(alphasCumprod("scaled_linear", 0.00085, 0.012, 1000));
  assert.ok(Math.abs(s[999] - 14.614646911621094) < 1e-6);
  const logs = s.map(Math.log);
  assert.equal(sigmaToTimestep(s[500], logs), 500);
  assert.equal(sigmaToTimestep(1e-6, logs), 0);
});
