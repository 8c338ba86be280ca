import assert from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

function forget(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return forgetWith([], ...args);
}

async function forgetWith(
  flags: string[],
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", ...flags, MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `forget erase` on `model` with the native runtime and no encoder cache. */
function eraseOn(model: string, ...args: string[]): ReturnType<typeof forget> {
  const flags = ["--allow-ffi", "--allow-sys"];
  return forgetWith(flags, "erase", "--model", model, "--backend", "cpu,ort-node", "--no-cache", ...args);
}

Deno.test("cli: synth then inspect --json, for each family and layout", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const [family, layers, ctx] of [["sd15", 16, 16], ["sd21", 16, 24], ["sdxl", 70, 40]] as const) {
      for (const layout of ["single", "diffusers"]) {
        const out = join(dir, `${family}-${layout}${layout === "single" ? ".safetensors" : ""}`);
        const s = await forget("synth", "--family", family, "--layout", layout, "--seed", "4", "--out", out);
        assert.equal(s.code, 0, s.stderr);
        const r = await forget("inspect", out, "--json");
        assert.equal(r.code, 0, r.stderr);
        const j = JSON.parse(r.stdout);
        assert.equal(j.family, family);
        assert.equal(j.layout, layout);
        assert.equal(j.crossAttentionLayers, layers);
        assert.equal(j.contextDim, ctx);
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: bad arguments get a clear message and exit code 2, and nothing is written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let r = await forget("synth", "--family", "sd9", "--out", join(dir, "x.safetensors"));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--family must be one of sd15, sd21, sdxl, got "sd9"/);
    r = await forget("synth", "--family", "sd15");
    assert.match(r.stderr, /--out is required/);
    r = await forget("synth", "--family", "sd15", "--seed", "1.5", "--out", join(dir, "x.safetensors"));
    assert.match(r.stderr, /--seed must be an integer/);
    r = await forget("synth", "--family", "sd15", "--bogus", "--out", join(dir, "x.safetensors"));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bogus/);
    r = await forget("nonsense");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown subcommand "nonsense"/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    // An existing output is never overwritten.
    await Deno.writeTextFile(join(dir, "keep.safetensors"), "mine");
    r = await forget("synth", "--family", "sd15", "--out", join(dir, "keep.safetensors"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
    assert.equal(await Deno.readTextFile(join(dir, "keep.safetensors")), "mine");
    r = await forget("inspect", join(dir, "keep.safetensors"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /keep\.safetensors/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: apply merges a patch, refuses a patch for another base model unless --force", async () => {
  const { loadCheckpoint } = await import("../formats/checkpoint.ts");
  const { randomEdit } = await import("../patch/random_edit.ts");
  const { writeLoraPatch } = await import("../patch/lora_file.ts");
  const dir = await Deno.makeTempDir();
  try {
    const a = join(dir, "a.safetensors"), b = join(dir, "b.safetensors"), patch = join(dir, "p.safetensors");
    assert.equal((await forget("synth", "--family", "sd15", "--seed", "1", "--out", a)).code, 0);
    assert.equal((await forget("synth", "--family", "sd15", "--seed", "2", "--out", b)).code, 0);
    const ckpt = await loadCheckpoint(a);
    await writeLoraPatch(patch, await randomEdit(ckpt, 2), ckpt);
    ckpt.close();
    let r = await forget("apply", "--model", a, "--patch", patch, "--out", join(dir, "m.safetensors"));
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /32 weights changed/);
    r = await forget("apply", "--model", b, "--patch", patch, "--out", join(dir, "m2.safetensors"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /was made for another base model .* --force/);
    r = await forget(
      "apply",
      "--model",
      b,
      "--patch",
      patch,
      "--out",
      join(dir, "m2.safetensors"),
      "--force",
    );
    assert.equal(r.code, 0, r.stderr);
    r = await forget("apply", "--model", a, "--patch", patch, "--out", a);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /output path is the input/);
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "a.safetensors",
      "b.safetensors",
      "m.safetensors",
      "m2.safetensors",
      "p.safetensors",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: erase writes a patch and a --json report; bad requests write nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = join(dir, "m.safetensors"), p = join(dir, "p.safetensors");
    assert.equal((await forget("synth", "--family", "sd15", "--seed", "1", "--out", m)).code, 0);
    const erase = (...a: string[]) => eraseOn(m, ...a);
    let r = await erase("--concept", "zebra", "--method", "uce", "--out", p, "--json");
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.patch.modules, 32);
    assert.ok(report.steps[0].layers.length === 32 && "uce-solve" in report.steps[0].timings);
    for (
      const [args, message] of [
        [["--concept", "", "--out", join(dir, "x.safetensors")], /concept must be non-empty/],
        [["--concept", "art", "--guide", "art", "--out", join(dir, "x.safetensors")], /equals its guide/],
        [
          ["--concept", "zebra", "--lambda", "0", "--out", join(dir, "x.safetensors")],
          /lambda must be positive/,
        ],
        [
          ["--concept", "zebra", "--preserve-scale=-1", "--out", join(dir, "x.safetensors")],
          /preserveScale must be zero or more/,
        ],
        [["--concept", "zebra", "--out", m], /output path is the input/],
        [
          ["--concept", "zebra", "--backend", "tpu", "--out", join(dir, "x.safetensors")],
          /--backend: unknown value "tpu"/,
        ],
      ] as const
    ) {
      r = await erase(...args);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    }
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.deepEqual(names, ["m.safetensors", "p.safetensors"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: attention draws base and patched maps per resolution; a missing word is a clear error", async () => {
  const { loadCheckpoint } = await import("../formats/checkpoint.ts");
  const { randomEdit } = await import("../patch/random_edit.ts");
  const { writeLoraPatch } = await import("../patch/lora_file.ts");
  const { readPng } = await import("../image/png_read.ts");
  const dir = await Deno.makeTempDir();
  try {
    const m = join(dir, "m.safetensors"), p = join(dir, "p.safetensors"), out = join(dir, "map.png");
    assert.equal((await forget("synth", "--family", "sd15", "--seed", "1", "--out", m)).code, 0);
    const ckpt = await loadCheckpoint(m);
    await writeLoraPatch(p, await randomEdit(ckpt, 2), ckpt);
    ckpt.close();
    const run = (...a: string[]) =>
      forgetWith(
        ["--allow-ffi", "--allow-sys"],
        "attention",
        "--model",
        m,
        "--size",
        "64x64",
        "--steps",
        "2",
        "--backend",
        "ort-node",
        ...a,
      );
    let r = await run("--prompt", "a photo of zebra", "--token", "zebra", "--patch", p, "--out", out);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /base: mean attention on "zebra" — 8x8: [\d.]+, 4x4: [\d.]+, 2x2: [\d.]+, 1x1: [\d.]+/,
    );
    assert.match(r.stdout, /patched: mean attention/);
    const png = await readPng(out);
    assert.ok(png.width > 5 * 64 && png.height > 2 * 64);
    // A patch of to_q alone (as Forget-Me-Not's, in part) changes the maps too.
    const q = join(dir, "q.safetensors");
    const again = await loadCheckpoint(m);
    await writeLoraPatch(q, await randomEdit(again, 2, 3, ["to_q"]), again);
    again.close();
    r = await run(
      "--prompt",
      "a photo of zebra",
      "--token",
      "zebra",
      "--patch",
      q,
      "--out",
      join(dir, "q.png"),
    );
    assert.equal(r.code, 0, r.stderr);
    const means = (label: string) =>
      r.stdout.match(new RegExp(`${label}: mean attention[^\n]*`))?.[0].split("—")[1];
    assert.ok(means("base") && means("patched"), r.stdout);
    assert.notEqual(means("patched"), means("base"), "a to_q patch moves the attention");
    r = await run("--prompt", "a photo of a cat", "--token", "zebra", "--out", join(dir, "x.png"));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /zebra/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: erase --method fmn writes a patch and a --json report; bad FMN input is refused by name", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = join(dir, "m.safetensors"), p = join(dir, "p.safetensors");
    assert.equal((await forget("synth", "--family", "sd15", "--seed", "1", "--out", m)).code, 0);
    const erase = (...a: string[]) =>
      eraseOn(m, "--method", "fmn", "--concept", "zebra", "--image-count", "1", ...a);
    // Two steps preserving "a horse", with the given preservation flags; the parsed --json report.
    const preservingHorse = async (...flags: string[]) => {
      const r = await erase(
        "--steps",
        "2",
        "--lr",
        "1e-2",
        "--preserve",
        "a horse",
        ...flags,
        "--out",
        p,
        "--json",
      );
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const report = await preservingHorse("--no-preserve-queries");
    assert.equal(report.fmn.losses.length, 2);
    assert.equal(report.fmn.settings.preserveQueries, false);
    assert.ok("key-preservation" in report.fmn.timings && !("query-preservation" in report.fmn.timings));
    assert.ok(report.patch.modules > 0 && (await Deno.stat(p)).size === report.patch.bytes);
    // Attention anchoring alone: no projection, one anchored drift per step (the first at the base weights).
    const anchored = (await preservingHorse("--preserve-attention", "0.1", "--no-preserve-keys")).fmn;
    assert.deepEqual([anchored.settings.preserveAttention, anchored.settings.preserveKeys], [0.1, false]);
    assert.equal(anchored.anchorDrift.length, 2);
    assert.equal(anchored.anchorDrift[0], 0);
    assert.ok(anchored.timings["anchor-images"] > 0 && !("key-preservation" in anchored.timings));
    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    for (
      const [args, message] of [
        [["--lr", "0"], /learning rate must be in \(0, 1\], got 0/],
        [["--steps", "0"], /steps must be an integer from 1 to 10000, got 0/],
        [["--images", empty], /empty/],
        [["--eos", "some"], /--eos/],
        [
          ["--preserve", "a horse", "--preserve-attention=-1"],
          /preserve attention weight must be zero or more/,
        ],
        [["--preserve-attention", "lots"], /--preserve-attention must be a number/],
        [["--preserve-attention", "0.1"], /preserve attention: give texts to preserve/],
      ] as const
    ) {
      const r = await erase(...args, "--out", join(dir, "x.safetensors"));
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.stderr, message);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "empty",
      "m.safetensors",
      "p.safetensors",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
