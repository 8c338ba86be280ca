import assert from "node:assert/strict";
import { join } from "node:path";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function forget(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
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
