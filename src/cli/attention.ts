/**
 * `forget attention`: where the model looks for a word. Renders the word's cross-attention map at each
 * UNet resolution (averaged over that resolution's layers, heads and the sampling steps) on the generated
 * image, for the base model and, with `--patch`, the patched one: the evidence of what Forget-Me-Not re-steers.
 *
 * @module
 */
import { loadCheckpoint } from "../formats/checkpoint.ts";
import type { CrossAttentionLayer } from "../formats/cross_attention.ts";
import { imageGrid } from "../image/grid.ts";
import { overlayHeatmap } from "../image/heatmap.ts";
import type { RgbImage } from "../image/image.ts";
import { writePng } from "../image/png_write.ts";
import { generateImages } from "../sample/generate.ts";
import { loadPatchWeights } from "../sample/patch_weights.ts";
import { parseBackends } from "../api/backends.ts";
import { assertDistinctOutput } from "../patch/merge.ts";
import { CliError, integerOption, parseCommand, requireString } from "./errors.ts";

const HELP = `usage: deno task forget attention --model PATH --prompt TEXT --token WORD --out MAP.png
       [--patch P [--force]] [--seed N] [--steps K] [--guidance g] [--size WxH] [--backend …]

Generates the prompt and draws WORD's cross-attention map at every UNet resolution (averaged over the
layers at that resolution, their heads and the sampling steps) over the image: one row for the base model
and, with --patch, one for the patched model (same seed). Prints the mean attention on WORD per resolution.`;

/** The resolution level of an attn2 layer: down block i → i, up block i → levels−1−i, mid → levels−1. */
export function attentionLevel(layer: CrossAttentionLayer, levels: number): number {
  const m = layer.module.match(/^(down|up)_blocks\.(\d+)\./);
  if (!m) return levels - 1;
  return m[1] === "down" ? Number(m[2]) : levels - 1 - Number(m[2]);
}

/**
 * Runs `forget attention`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { attentionCommand } from "./attention.ts";
 * await attentionCommand(["--model", "m.safetensors", "--prompt", "a zebra", "--token", "zebra", "--out", "map.png"]);
 * ```
 */
export async function attentionCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    model: { type: "string" },
    prompt: { type: "string" },
    token: { type: "string" },
    out: { type: "string" },
    patch: { type: "string" },
    force: { type: "boolean" },
    seed: { type: "string" },
    steps: { type: "string" },
    guidance: { type: "string" },
    size: { type: "string" },
    backend: { type: "string" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const modelPath = requireString(values, "model"), prompt = requireString(values, "prompt");
  const word = requireString(values, "token"), out = requireString(values, "out");
  assertDistinctOutput(modelPath, out);
  const seed = integerOption(values, "seed", 0, 0, Number.MAX_SAFE_INTEGER);
  const steps = integerOption(values, "steps", 20, 1, 1000);
  const guidance = values.guidance === undefined ? 7.5 : Number(values.guidance);
  if (!Number.isFinite(guidance)) throw new CliError(`--guidance must be a number, got "${values.guidance}"`);
  let size: { width?: number; height?: number } = {};
  if (values.size !== undefined) {
    const m = String(values.size).match(/^(\d+)x(\d+)$/);
    if (!m) throw new CliError(`--size must be WIDTHxHEIGHT, e.g. 512x512, got "${values.size}"`);
    size = { width: Number(m[1]), height: Number(m[2]) };
  }
  let runtime;
  try {
    runtime = parseBackends(values.backend as string | undefined).runtime;
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const ckpt = await loadCheckpoint(modelPath);
  try {
    const levels = ckpt.config.unet.block_out_channels.length;
    const byLevel = new Map<number, string[]>();
    for (const l of ckpt.crossAttention) {
      const lv = attentionLevel(l, levels);
      byLevel.set(lv, [...(byLevel.get(lv) ?? []), l.module]);
    }
    const variants: { label: string; patch: Awaited<ReturnType<typeof loadPatchWeights>> | null }[] = [
      { label: "base", patch: null },
    ];
    if (values.patch) {
      variants.push({
        label: "patched",
        patch: await loadPatchWeights(ckpt, values.patch as string, { force: values.force === true }),
      });
    }
    const rows: RgbImage[][] = [];
    const columns = ["image"];
    for (const v of variants) {
      const row: RgbImage[] = [];
      const means: string[] = [];
      for (const [level, layers] of [...byLevel].sort((a, b) => a[0] - b[0])) {
        const [g] = await generateImages(ckpt, {
          prompts: [prompt],
          seeds: [seed],
          steps,
          guidance,
          ...size,
          backend: runtime,
          patch: v.patch,
          swappable: true, // base and patched share each level's session
          attention: { words: [word], layers },
          warn: () => {},
        });
        if (!row.length) row.push(g.image);
        const map = g.attention![0].map;
        let mean = 0;
        for (let i = 0; i < map.values.length; i++) mean += map.values[i];
        mean /= map.values.length;
        row.push(overlayHeatmap(g.image, map, { alpha: 0.6 }));
        // The layers of a level attend at the latent size / 2^level (maps come back upsampled to the latent size).
        const res = `${Math.max(1, map.width >> level)}x${Math.max(1, map.height >> level)}`;
        means.push(`${res}: ${mean.toFixed(4)}`);
        if (v === variants[0]) columns.push(`${res} (${layers.length} layers)`);
      }
      rows.push(row);
      console.log(`${v.label}: mean attention on "${word}" — ${means.join(", ")}`);
    }
    const grid = imageGrid(rows, {
      rowLabels: variants.map((v) => v.label),
      columnLabels: columns,
      title: `"${word}" in "${prompt}" (seed ${seed})`,
      cellWidth: Math.max(128, rows[0][0].width),
    });
    await writePng(out, grid);
    console.log(`wrote ${out}`);
  } finally {
    ckpt.close();
  }
  return 0;
}
