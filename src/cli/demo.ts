/**
 * `forget demo` (`deno task demo`): the main job, end to end, on a built-in model.
 *
 * Until the trained toy world ships, the demo runs on a synthetic SD 1.5 checkpoint (real key names,
 * seeded random weights) that it writes to a temporary folder, and says so.
 *
 * @module
 */
import { join } from "node:path";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { formatSummary, summarize } from "../formats/summary.ts";
import { integerOption, parseCommand } from "./errors.ts";
import { loadModel } from "../api/model.ts";
import { toyManifestPath } from "../eval/toy_world.ts";
import { toyDemo } from "./toy_demo.ts";

/** The demo on a synthetic checkpoint, for installs without the toy world. */
async function syntheticDemo(values: Record<string, unknown>): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "forget-demo-" });
  try {
    console.log(
      "forget demo — on a SYNTHETIC SD 1.5 checkpoint (random weights: it shows the mechanics, not that a concept\n" +
        "is gone; the built-in toy world in conceptbench/toy/ is used when present)\n",
    );
    let t = performance.now();
    const path = join(dir, "sd15-synthetic.safetensors");
    await writeSyntheticCheckpoint(path, { family: "sd15", size: "tiny", seed: 1 });
    console.log(
      `1. wrote a tiny synthetic SD 1.5 single-file checkpoint (${(performance.now() - t).toFixed(0)} ms)`,
    );
    t = performance.now();
    const ckpt = await loadCheckpoint(path);
    console.log(
      `2. loaded it: detected ${ckpt.family}, ${ckpt.crossAttention.length} cross-attention layers\n`,
    );
    console.log(formatSummary(summarize(ckpt)) + "\n");
    let norms = 0;
    for (const layer of ckpt.crossAttention) {
      for (const name of [layer.toK, layer.toV]) {
        const w = await ckpt.unet.readFloat32(name);
        norms += Math.sqrt(w.reduce((a, x) => a + x * x, 0));
      }
    }
    console.log(
      `3. read the ${2 * ckpt.crossAttention.length} to_k/to_v matrices that erasure edits ` +
        `(sum of Frobenius norms ${norms.toFixed(3)}) in ${(performance.now() - t).toFixed(0)} ms`,
    );
    ckpt.close();
    t = performance.now();
    const model = await loadModel(path, { backend: "auto,ort-node", cacheDir: null });
    const patch = join(dir, "no-zebra.safetensors");
    const result = await model.forget("zebra", { method: "uce" }).savePatch(patch);
    model.close();
    console.log(
      `4. erased "zebra" with UCE and wrote a ${(result.patchBytes / 1024).toFixed(0)} KiB LoRA patch ` +
        `(${result.edit.deltas.length} weights) in ${(performance.now() - t).toFixed(0)} ms`,
    );
    if (values.keep) console.log(`kept ${dir}`);
  } finally {
    if (!values.keep) await Deno.remove(dir, { recursive: true });
  }
  return 0;
}

const HELP = `usage: deno task demo [--out DIR] [--prompts n] [--seeds n] [--backend …]

On the built-in toy world: generates images of one object, one style and one character, erases the three
with UCE and with RECE, generates again with the same seeds, asks the judge what each image shows, prints
the detection rate of every concept before and after, and writes a PNG grid and an HTML report to DIR
(default ./forget-demo). Without the toy world it runs on a synthetic checkpoint and says so.`;

/**
 * Runs the demo; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { demoCommand } from "./demo.ts";
 * await demoCommand([]);
 * ```
 */
export async function demoCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    keep: { type: "boolean" },
    out: { type: "string" },
    prompts: { type: "string" },
    seeds: { type: "string" },
    backend: { type: "string" },
    synthetic: { type: "boolean" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const manifest = values.synthetic ? null : await toyManifestPath();
  if (!manifest) return await syntheticDemo(values);
  return await toyDemo(manifest, {
    out: (values.out as string | undefined) ?? "forget-demo",
    prompts: integerOption(values, "prompts", 2, 1, 100),
    seeds: integerOption(values, "seeds", 2, 1, 100),
    backend: (values.backend as string | undefined) ?? "auto,ort-node",
  });
}
