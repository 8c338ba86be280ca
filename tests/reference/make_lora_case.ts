/**
 * Writes one LoRA test case for tests/reference/lora_fixtures.py: a tiny synthetic diffusers checkpoint
 * of a family and a kohya-style patch of a seeded random rank-3 edit of its cross-attention.
 * The Deno test `src/patch/lora_reference_test.ts` rebuilds the same case (same seeds) and compares.
 *
 * usage: deno run -A tests/reference/make_lora_case.ts FAMILY OUT_DIR
 *
 * @module
 */
import { join } from "node:path";
import { loraCase } from "../../src/patch/lora_case.ts";

const [family, dir] = Deno.args;
await loraCase(family as "sd15" | "sdxl", join(dir, "model"), join(dir, "patch.safetensors"));
