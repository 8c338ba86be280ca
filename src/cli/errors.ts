/**
 * Errors in how a command was called (exit code 2), as opposed to failures while running (exit code 1).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A usage error: a missing, unknown or malformed argument. */
export class CliError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

/** Parsed options and positionals of a subcommand. */
export interface ParsedArgs {
  /** Option values by name. */
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Positional arguments. */
  positionals: string[];
}

/**
 * `node:util` parseArgs in strict mode, with its errors turned into {@linkcode CliError}s.
 *
 * @example
 * ```ts
 * import { parseCli } from "./errors.ts";
 * parseCli(["--seed", "3"], { seed: { type: "string" } }).values.seed; // "3"
 * ```
 */
export function parseCli(args: string[], options: NonNullable<ParseArgsConfig["options"]>): ParsedArgs {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as ParsedArgs["values"], positionals };
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

/**
 * Parses a subcommand's options (plus `--help`/`-h`). With `--help` it prints `help` and returns null (the
 * caller exits 0); a positional argument is a usage error when `positionals` is false.
 *
 * @example
 * ```ts
 * import { parseCommand } from "./errors.ts";
 * parseCommand(["--seed", "3"], { seed: { type: "string" } }, "usage: …")?.values.seed; // "3"
 * ```
 */
export function parseCommand(
  args: string[],
  options: NonNullable<ParseArgsConfig["options"]>,
  help: string,
  positionals = false,
): ParsedArgs | null {
  const parsed = parseCli(args, { ...options, help: { type: "boolean", short: "h" } });
  if (parsed.values.help) {
    console.log(help);
    return null;
  }
  if (!positionals && parsed.positionals.length) {
    throw new CliError(`unexpected argument "${parsed.positionals[0]}"\n${help}`);
  }
  return parsed;
}

/**
 * A required string option, or a {@linkcode CliError} naming it.
 *
 * @example
 * ```ts
 * import { requireString } from "./errors.ts";
 * requireString({ out: "a.safetensors" }, "out"); // "a.safetensors"
 * ```
 */
export function requireString(values: ParsedArgs["values"], name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new CliError(`--${name} is required`);
  return v;
}

/**
 * A string option that must be one of `choices`.
 *
 * @example
 * ```ts
 * import { oneOf } from "./errors.ts";
 * oneOf({ size: "tiny" }, "size", ["tiny", "full"] as const, "tiny"); // "tiny"
 * ```
 */
export function oneOf<T extends string>(
  values: ParsedArgs["values"],
  name: string,
  choices: readonly T[],
  fallback?: T,
): T {
  const v = values[name] ?? fallback;
  if (typeof v !== "string" || !(choices as readonly string[]).includes(v)) {
    throw new CliError(
      `--${name} must be one of ${choices.join(", ")}${v === undefined ? "" : `, got "${v}"`}`,
    );
  }
  return v as T;
}

/**
 * An integer option within [min, max].
 *
 * @example
 * ```ts
 * import { integerOption } from "./errors.ts";
 * integerOption({ seed: "7" }, "seed", 0, 0, 2 ** 31); // 7
 * ```
 */
export function integerOption(
  values: ParsedArgs["values"],
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`--${name} must be an integer from ${min} to ${max}, got "${v}"`);
  }
  return n;
}
