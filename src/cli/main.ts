/**
 * The `forget` command line: `deno task forget <subcommand> [options]`.
 *
 * Each subcommand lives in its own file and exports a function from its arguments to an exit code.
 *
 * @example
 * ```sh
 * deno task forget inspect model.safetensors --json
 * deno task forget synth --family sd15 --size tiny --out /tmp/sd15.safetensors
 * ```
 *
 * @module
 */
import { applyCommand } from "./apply.ts";
import { attentionCommand } from "./attention.ts";
import { demoCommand } from "./demo.ts";
import { encodeCommand } from "./encode.ts";
import { eraseCommand } from "./erase.ts";
import { generateCommand } from "./generate.ts";
import { inspectCommand } from "./inspect.ts";
import { synthCommand } from "./synth.ts";
import { CliError } from "./errors.ts";

/** A subcommand: its one-line summary and its entry point. */
export interface Subcommand {
  /** One line for the help listing. */
  summary: string;
  /** Runs the subcommand; resolves to the process exit code. */
  run(args: string[]): Promise<number>;
}

/** Every subcommand by name. */
export const SUBCOMMANDS: Record<string, Subcommand> = {
  attention: {
    summary: "draw a word's cross-attention map per UNet resolution, base and patched",
    run: attentionCommand,
  },
  apply: { summary: "merge a LoRA patch into a checkpoint (same layout and dtype)", run: applyCommand },
  demo: { summary: "run the main job end to end on the built-in model", run: demoCommand },
  encode: {
    summary: "encode prompts with the model's text encoder(s) to a safetensors file",
    run: encodeCommand,
  },
  erase: { summary: "erase concepts in closed form (UCE / RECE) and write a LoRA patch", run: eraseCommand },
  generate: {
    summary: "text-to-image with a checkpoint (and a patch): PNG files or a grid",
    run: generateCommand,
  },
  inspect: {
    summary: "describe a checkpoint: family, layout, cross-attention layers, encoders",
    run: inspectCommand,
  },
  synth: {
    summary: "write a synthetic checkpoint (real key names, seeded random weights)",
    run: synthCommand,
  },
};

/** Usage text listing the subcommands. */
export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((k) => k.length));
  return [
    "usage: deno task forget <subcommand> [options]",
    "",
    "subcommands:",
    ...Object.entries(SUBCOMMANDS).map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`),
    "",
    "Run a subcommand with --help for its options.",
  ].join("\n");
}

/**
 * Runs the CLI on `args` and returns the exit code; errors print as one clear line, not a stack trace.
 *
 * @example
 * ```ts ignore
 * import { main } from "./main.ts";
 * Deno.exit(await main(["inspect", "model.safetensors"]));
 * ```
 */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const sub = SUBCOMMANDS[name];
  if (!sub) {
    console.error(`forget: unknown subcommand "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await sub.run(rest);
  } catch (e) {
    if (Deno.env.get("FORGET_DEBUG")) console.error(e);
    console.error(`forget ${name}: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof CliError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
