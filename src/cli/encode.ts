/**
 * `forget encode`: prompts → text-encoder hidden states (and SDXL's pooled output), written as a
 * float32 safetensors file in prompt order.
 *
 * @module
 */

import { resolve } from "node:path";
import { readFile } from "node:fs/promises";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { writeSafetensors } from "../formats/safetensors.ts";
import { promptEncoderModel } from "../models/checkpoint_encoders.ts";
import { encodePrompts } from "../models/encode_prompts.ts";
import type { TextEmbeddings } from "../models/text_encoders.ts";
import { parseBackend } from "../runtime/session.ts";
import { CliError, parseCommand, requireString } from "./errors.ts";

const HELP =
  `usage: deno task forget encode --model PATH --prompt TEXT [--prompt TEXT ...] --out FILE.safetensors
       [--prompts FILE] [--backend ort-web|ort-node]

Encodes prompts with the model's text encoder(s) and writes, as float32 in prompt order:
  hidden_states  [n, 77, 768|1024|2048]  (SD 1.x | SD 2.x | SDXL)
  pooled         [n, 1280]               (SDXL only)
--prompts reads one prompt per line (added after the --prompt ones).
--backend ort-node runs ONNX Runtime's native build (faster; needs --allow-ffi); the default ort-web
is its WebAssembly build.`;

/**
 * Runs `forget encode`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { encodeCommand } from "./encode.ts";
 * await encodeCommand(["--model", "sd15.safetensors", "--prompt", "a cat", "--out", "cat.safetensors"]);
 * ```
 */
export async function encodeCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    model: { type: "string" },
    prompt: { type: "string", multiple: true },
    prompts: { type: "string" },
    out: { type: "string" },
    backend: { type: "string" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const modelPath = requireString(values, "model");
  const out = requireString(values, "out");
  let backend;
  try {
    backend = parseBackend(values.backend as string | undefined);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const prompts = [...((values.prompt as string[] | undefined) ?? [])];
  if (typeof values.prompts === "string") {
    const text = await readFile(values.prompts, "utf8").catch((e: Error) => {
      throw new CliError(`--prompts ${values.prompts}: ${e.message}`);
    });
    prompts.push(...text.split(/\r?\n/).filter((line) => line.trim() !== ""));
  }
  if (prompts.length === 0) {
    throw new CliError("no prompts given: use --prompt TEXT (repeatable) or --prompts FILE");
  }
  if (!out.endsWith(".safetensors")) {
    throw new CliError(`--out ${out}: the output must be a .safetensors file`);
  }
  if (resolve(out) === resolve(modelPath)) throw new CliError(`--out ${out} would overwrite the model`);

  const ckpt = await loadCheckpoint(modelPath);
  try {
    for (const w of ckpt.warnings) console.warn(`${modelPath}: ${w}`);
    const model = await promptEncoderModel(ckpt);
    const started = performance.now();
    const result = await encodePrompts(model, prompts, {
      backend,
      onSession: (e, t) =>
        console.log(
          `text encoder ${e + 1}: graph built in ${(t.buildMs / 1000).toFixed(2)} s, ` +
            `${backend} session created in ${(t.createMs / 1000).toFixed(2)} s`,
        ),
    });
    const seconds = (performance.now() - started) / 1000;
    await writeEmbeddings(out, result, { family: ckpt.family, model: modelPath, backend, prompts });
    console.log(
      `wrote ${out}: hidden_states [${result.count}, ${result.sequence}, ${result.width}]` +
        (result.pooled ? `, pooled [${result.count}, ${result.pooledWidth}]` : "") +
        ` (${ckpt.family}, ${backend}, ${seconds.toFixed(2)} s)`,
    );
    return 0;
  } finally {
    ckpt.close();
  }
}

/**
 * Writes embeddings as float32 safetensors (`hidden_states`, and `pooled` when present), with the
 * prompts and provenance as metadata. Atomic.
 *
 * @example
 * ```ts ignore
 * import { writeEmbeddings } from "./encode.ts";
 * await writeEmbeddings("out.safetensors", embeddings, { family: "sd15", model: "m", backend: "ort-web", prompts: ["a"] });
 * ```
 */
export async function writeEmbeddings(
  path: string,
  e: TextEmbeddings,
  info: { family: string; model: string; backend: string; prompts: string[] },
): Promise<void> {
  const tensors: Parameters<typeof writeSafetensors>[1] = {
    hidden_states: { dtype: "F32", shape: [e.count, e.sequence, e.width], data: e.hiddenStates },
  };
  if (e.pooled) tensors.pooled = { dtype: "F32", shape: [e.count, e.pooledWidth!], data: e.pooled };
  await writeSafetensors(path, tensors, {
    format: "pt",
    "forget.family": info.family,
    "forget.model": info.model,
    "forget.backend": info.backend,
    "forget.prompts": JSON.stringify(info.prompts),
  });
}
