/**
 * `forget apply`: merges a LoRA patch into a checkpoint, writing a new checkpoint in the same layout and dtype.
 *
 * @module
 */
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { crossAttentionHash } from "../formats/hash.ts";
import { readLoraPatch } from "../patch/lora_file.ts";
import { assertDistinctOutput, writeMergedCheckpoint } from "../patch/merge.ts";
import { CliError, parseCommand, requireString } from "./errors.ts";

const HELP = `usage: deno task forget apply --model PATH --patch P.safetensors --out OUT [--scale s] [--force]

Writes OUT = the model with the patch merged in, in the model's layout (single file or diffusers folder)
and dtype. A patch made for another base model (its recorded hash differs) is refused unless --force.`;

/**
 * Runs `forget apply`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { applyCommand } from "./apply.ts";
 * await applyCommand(["--model", "v1-5.safetensors", "--patch", "no-zebra.safetensors", "--out", "merged.safetensors"]);
 * ```
 */
export async function applyCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    model: { type: "string" },
    patch: { type: "string" },
    out: { type: "string" },
    scale: { type: "string" },
    force: { type: "boolean" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const model = requireString(values, "model"),
    patch = requireString(values, "patch"),
    out = requireString(values, "out");
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale)) throw new CliError(`--scale must be a number, got "${values.scale}"`);
  assertDistinctOutput(model, out);
  assertDistinctOutput(patch, out);
  const t0 = performance.now();
  const ckpt = await loadCheckpoint(model);
  try {
    const edit = await readLoraPatch(patch, ckpt);
    const recorded = edit.provenance.baseModelHash;
    if (recorded !== "unknown") {
      const actual = await crossAttentionHash(ckpt);
      if (actual !== recorded && !values.force) {
        throw new Error(
          `${patch} was made for another base model (patch records ${recorded}, ${model} is ${actual}); ` +
            `pass --force to apply it anyway`,
        );
      }
    } else {console.error(
        `note: ${patch} records no base-model hash (not made by forget); applying without a check`,
      );}
    await writeMergedCheckpoint(ckpt, edit, out, { scale });
    console.log(
      `wrote ${out}: ${edit.deltas.length} weights changed (${edit.provenance.method}: ${
        edit.provenance.concepts.join(", ") || "?"
      }), ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );
  } finally {
    ckpt.close();
  }
  return 0;
}
