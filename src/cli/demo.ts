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
import { parseCli } from "./errors.ts";

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
  const { values } = parseCli(args, { keep: { type: "boolean" } });
  const dir = await Deno.makeTempDir({ prefix: "forget-demo-" });
  try {
    console.log(
      "forget demo — on a SYNTHETIC SD 1.5 checkpoint (random weights; the trained toy model is not built yet)\n",
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
    console.log(
      "\nNext in this demo as the project grows: encode prompts, erase a concept (UCE/RECE), write a LoRA patch.",
    );
    ckpt.close();
    if (values.keep) console.log(`kept ${dir}`);
  } finally {
    if (!values.keep) await Deno.remove(dir, { recursive: true });
  }
  return 0;
}
