import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { readPng } from "../image/png_read.ts";
import { randomEdit } from "../patch/random_edit.ts";
import { writeLoraPatch } from "../patch/lora_file.ts";
import { main } from "./main.ts";

async function quietly(args: string[]): Promise<{ code: number; errors: string }> {
  const errors: string[] = [];
  const [log, error] = [console.log, console.error];
  console.log = () => {};
  console.error = (...m: unknown[]) => errors.push(m.join(" "));
  try {
    return { code: await main(args), errors: errors.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}

Deno.test("cli generate: writes PNGs; bad input gets a clear error and nothing is written", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forget-cli-generate-" });
  try {
    const model = `${dir}/m`, other = `${dir}/o`;
    await writeSyntheticCheckpoint(model, { family: "sd15", size: "tiny", layout: "diffusers", seed: 1 });
    await writeSyntheticCheckpoint(other, { family: "sd15", size: "tiny", layout: "diffusers", seed: 2 });
    const base = ["generate", "--model", model, "--prompt", "a cat", "--steps", "2", "--size", "64x48"];

    const ok1 = await quietly([...base, "--seed", "1,2", "--out", `${dir}/cat.png`]);
    equal(ok1.code, 0, ok1.errors);
    for (const seed of [1, 2]) {
      const png = await readPng(`${dir}/cat-1-${seed}.png`);
      deepStrictEqual([png.width, png.height], [64, 48]);
    }
    const maps = await quietly([
      ...base,
      "--prompt",
      "a photo of a cat",
      "--attention",
      "cat",
      "--out",
      `${dir}/m.png`,
    ]);
    equal(maps.code, 0, maps.errors);
    deepStrictEqual((await readPng(`${dir}/m-2-0-attention-cat.png`)).width, 64);
    const grid = await quietly([
      ...base,
      "--prompt",
      "a dog",
      "--seed",
      "1",
      "--grid",
      "--out",
      `${dir}/grid.png`,
    ]);
    equal(grid.code, 0, grid.errors);
    ok(await exists(`${dir}/grid.png`));
    const portable = await quietly([...base, "--seed", "1", "--noise", "portable", "--out", `${dir}/p.png`]);
    equal(portable.code, 0, portable.errors);
    const [torchPng, portablePng] = [await readPng(`${dir}/cat-1-1.png`), await readPng(`${dir}/p.png`)];
    ok(torchPng.data.some((v, i) => v !== portablePng.data[i]), "--noise portable draws other noise");

    const out = `${dir}/bad.png`;
    const bad: [string[], RegExp][] = [
      [["--size", "60x64"], /--size 60x64: width and height must be positive multiples of 8/],
      [["--size", "0x64"], /positive multiples of 8/],
      [["--steps", "0"], /--steps must be an integer from 1 to 1000/],
      [["--steps=-4"], /--steps must be an integer/],
      [["--guidance", "99"], /--guidance must be from 0 to 50/],
      [["--guidance", "lots"], /--guidance must be a number/],
      [["--seed", "x"], /--seed must be non-negative integers/],
      [["--noise", "numpy"], /--noise must be one of torch, portable, got "numpy"/],
    ];
    for (const [extra, message] of bad) {
      const r = await quietly([...base, ...extra, "--out", out]);
      equal(r.code, 2, `${extra.join(" ")}: exit code`);
      match(r.errors, message);
    }
    // A patch made for another base model is refused before anything is generated.
    const otherCkpt = await loadCheckpoint(other);
    await writeLoraPatch(`${dir}/p.safetensors`, await randomEdit(otherCkpt, 2, 1), otherCkpt);
    otherCkpt.close();
    const refused = await quietly([...base, "--patch", `${dir}/p.safetensors`, "--out", out]);
    equal(refused.code, 1);
    match(refused.errors, /made for another base model.*--force/);
    ok(!(await exists(out)), "nothing written");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
