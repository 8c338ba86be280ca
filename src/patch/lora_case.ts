/**
 * The LoRA reference case shared by tests/reference/lora_fixtures.py and `lora_reference_test.ts`: a tiny
 * diffusers checkpoint (seed 21, fp32) and a patch of a seeded random rank-3 edit of its cross-attention.
 *
 * @module
 */
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { randomEdit } from "./random_edit.ts";
import { writeLoraPatch } from "./lora_file.ts";

/**
 * Writes the case's checkpoint folder and patch file.
 *
 * @example
 * ```ts ignore
 * import { loraCase } from "./lora_case.ts";
 * await loraCase("sd15", "/tmp/case/model", "/tmp/case/patch.safetensors");
 * ```
 */
export async function loraCase(family: "sd15" | "sdxl", modelDir: string, patchPath: string): Promise<void> {
  await writeSyntheticCheckpoint(modelDir, { family, layout: "diffusers", dtype: "F32", seed: 21 });
  const ckpt = await loadCheckpoint(modelDir);
  await writeLoraPatch(patchPath, await randomEdit(ckpt, 3, 5), ckpt);
  ckpt.close();
}
