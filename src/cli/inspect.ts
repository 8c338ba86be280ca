/**
 * `forget inspect`: describes a checkpoint — family, layout, dtype, cross-attention layers, encoders.
 *
 * @module
 */
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { formatSummary, summarize } from "../formats/summary.ts";
import { CliError, parseCommand } from "./errors.ts";

const HELP = `usage: deno task forget inspect PATH [--json]

Describes a Stable Diffusion checkpoint (a single .safetensors file or a diffusers folder): family,
layout, dtype, the cross-attention layers that erasure edits, and the text encoders. Reads headers only.`;

/**
 * Runs `forget inspect`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { inspectCommand } from "./inspect.ts";
 * await inspectCommand(["model.safetensors", "--json"]);
 * ```
 */
export async function inspectCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, { json: { type: "boolean" } }, HELP, true);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new CliError(`expected one checkpoint path\n${HELP}`);
  const ckpt = await loadCheckpoint(positionals[0]);
  try {
    const s = summarize(ckpt);
    console.log(values.json ? JSON.stringify(s, null, 2) : formatSummary(s));
  } finally {
    ckpt.close();
  }
  return 0;
}
