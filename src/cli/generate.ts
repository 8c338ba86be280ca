/**
 * `forget generate`: text-to-image with a checkpoint, optionally with a patch applied, over several
 * prompts and seeds; PNG output, a progress bar on a terminal.
 *
 * @module
 */
import { dirname, extname } from "node:path";
import { stat } from "node:fs/promises";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { writePng } from "../image/png_write.ts";
import { overlayHeatmap } from "../image/heatmap.ts";
import { parseBackend } from "../runtime/session.ts";
import { generatedGrid, generateImages } from "../sample/generate.ts";
import { loadPatchWeights } from "../sample/patch_weights.ts";
import { NOISE_KINDS, type NoiseKind } from "../sample/noise.ts";
import { type PredictionType, SCHEDULER_KINDS, type SchedulerKind } from "../sample/scheduler.ts";
import { CliError, integerOption, oneOf, parseCommand, requireString } from "./errors.ts";
import { progressBar } from "./progress.ts";

const HELP = `usage: deno task forget generate --model PATH --prompt TEXT --out IMG.png [options]

  --prompt TEXT        prompt (repeat for several)
  --negative TEXT      negative prompt (default "")
  --seed N[,N…]        seeds (default 0); every prompt is rendered with every seed
  --steps K            denoising steps (default 30)
  --guidance G         classifier-free guidance scale, 0..50 (default 7.5)
  --size WxH           image size in pixels, multiples of 8 (default: the model's native size)
  --scheduler S        ${SCHEDULER_KINDS.join(", ")} (default ddim)
  --noise N            torch (default): each seed's noise is what torch.Generator().manual_seed(seed)
                       draws on the CPU, so images match diffusers' for that seed (and ComfyUI's
                       initial noise); portable: this tool's own generator (earlier versions' images)
  --prediction P       epsilon or v_prediction (SD 2.x 768 models; default: the folder's scheduler config)
  --patch P            a LoRA patch to apply (refused if made for another base model, unless --force)
  --patch-scale s      patch strength (default 1)
  --attention WORD     also write the image with WORD's cross-attention map over it (averaged over heads,
                       layers and steps) as OUT…-attention-WORD.png (repeat for several words)
  --grid               write one grid image (rows: prompts, columns: seeds) instead of one file per image
  --backend B          ort-web (WASM, default) or ort-node (native, needs --allow-ffi)

With several images and no --grid, files are named OUT-<prompt number>-<seed>.png.`;

function parseSize(value: string | undefined): [number, number] | [undefined, undefined] {
  if (value === undefined) return [undefined, undefined];
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m) throw new CliError(`--size must look like 512x512 (width x height), got "${value}"`);
  const [w, h] = [Number(m[1]), Number(m[2])];
  for (const v of [w, h]) {
    if (v <= 0 || v % 8 !== 0) {
      throw new CliError(`--size ${value}: width and height must be positive multiples of 8`);
    }
  }
  return [w, h];
}

function parseSeeds(values: string[] | undefined): number[] {
  if (!values?.length) return [0];
  const seeds = values.flatMap((v) => v.split(","));
  return seeds.map((s) => {
    if (!/^\d+$/.test(s.trim()) || !Number.isSafeInteger(Number(s))) {
      throw new CliError(`--seed must be non-negative integers, got "${s}"`);
    }
    return Number(s);
  });
}

function numberOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) {
    throw new CliError(`--${name} must be a number, got "${value}"`);
  }
  return n;
}

/**
 * Runs `forget generate`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { generateCommand } from "./generate.ts";
 * await generateCommand(["--model", "v1-5.safetensors", "--prompt", "a cat", "--seed", "42", "--out", "cat.png"]);
 * ```
 */
export async function generateCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    model: { type: "string" },
    prompt: { type: "string", multiple: true },
    negative: { type: "string" },
    seed: { type: "string", multiple: true },
    steps: { type: "string" },
    guidance: { type: "string" },
    size: { type: "string" },
    scheduler: { type: "string" },
    noise: { type: "string" },
    prediction: { type: "string" },
    patch: { type: "string" },
    "patch-scale": { type: "string" },
    force: { type: "boolean" },
    grid: { type: "boolean" },
    attention: { type: "string", multiple: true },
    backend: { type: "string" },
    out: { type: "string" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const modelPath = requireString(values, "model");
  const out = requireString(values, "out");
  const prompts = (values.prompt as string[] | undefined) ?? [];
  if (!prompts.length) throw new CliError("--prompt is required");
  if (extname(out).toLowerCase() !== ".png") throw new CliError(`--out must name a .png file, got "${out}"`);
  const dir = dirname(out);
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) {
    throw new CliError(`--out: folder "${dir}" does not exist`);
  }
  const steps = integerOption(values, "steps", 30, 1, 1000);
  const guidance = numberOption(values.guidance as string | undefined, "guidance", 7.5);
  if (guidance < 0 || guidance > 50) throw new CliError(`--guidance must be from 0 to 50, got ${guidance}`);
  const [width, height] = parseSize(values.size as string | undefined);
  const seeds = parseSeeds(values.seed as string[] | undefined);
  const scheduler = oneOf(values, "scheduler", SCHEDULER_KINDS, "ddim") as SchedulerKind;
  const noise = oneOf(values, "noise", NOISE_KINDS, "torch") as NoiseKind;
  const prediction = values.prediction === undefined
    ? undefined
    : oneOf(values, "prediction", ["epsilon", "v_prediction"] as const) as PredictionType;
  const backend = parseBackend(values.backend as string | undefined);
  const words = (values.attention as string[] | undefined) ?? [];
  for (const word of words) {
    if (!/^[\p{L}\p{N}_-]+$/u.test(word)) {
      throw new CliError(`--attention takes one word (letters, digits, - or _), got "${word}"`);
    }
  }
  const patchScale = numberOption(values["patch-scale"] as string | undefined, "patch-scale", 1);

  const t0 = performance.now();
  const ckpt = await loadCheckpoint(modelPath);
  try {
    const patch = values.patch
      ? await loadPatchWeights(ckpt, values.patch as string, {
        scale: patchScale,
        force: values.force as boolean,
      })
      : null;
    const bar = progressBar("generate");
    const images = await generateImages(ckpt, {
      prompts,
      negative: values.negative as string | undefined,
      seeds,
      steps,
      guidance,
      width,
      height,
      scheduler,
      noise,
      prediction,
      patch,
      backend,
      attention: words.length ? { words } : undefined,
      onProgress: (p) => bar.update((p.image * p.steps + p.step + 1) / (p.images * p.steps)),
    });
    bar.done();
    const written: string[] = [];
    if (values.grid && images.length > 1) {
      await writePng(out, generatedGrid(images));
      written.push(out);
    } else if (images.length === 1) {
      await writePng(out, images[0].image);
      written.push(out);
    } else {
      const stem = out.slice(0, -4);
      for (const [k, im] of images.entries()) {
        const path = `${stem}-${Math.floor(k / seeds.length) + 1}-${im.seed}.png`;
        await writePng(path, im.image);
        written.push(path);
      }
    }
    for (const [k, im] of images.entries()) {
      const stem = images.length === 1
        ? out.slice(0, -4)
        : `${out.slice(0, -4)}-${Math.floor(k / seeds.length) + 1}-${im.seed}`;
      for (const a of im.attention ?? []) {
        const path = `${stem}-attention-${a.label}.png`;
        await writePng(path, overlayHeatmap(im.image, a.map, { alpha: 0.6 }));
        written.push(path);
      }
    }
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(
      `wrote ${written.join(", ")} (${images.length} image${images.length > 1 ? "s" : ""}, ${secs} s)`,
    );
  } finally {
    ckpt.close();
  }
  return 0;
}
