/**
 * `forget erase`: erases concepts from a checkpoint with UCE or RECE and writes a LoRA patch (and, with
 * `--merged`, a merged checkpoint). `--json` prints the report: timings per phase, per-layer residuals,
 * patch size.
 *
 * @module
 */
import { loadModel } from "../api/model.ts";
import type { ForgetOptions } from "../api/plan.ts";
import { assertDistinctOutput } from "../patch/merge.ts";
import { type TensorData, writeSafetensors } from "../formats/safetensors.ts";
import { CliError, oneOf, parseCommand, requireString } from "./errors.ts";
import { progressBar } from "./progress.ts";
import type { ConceptKind } from "../methods/closed_form/defaults.ts";

const HELP = `usage: deno task forget erase --model PATH --concept C [--concept C ...] --out PATCH.safetensors
       [--method rece|uce|fmn] [--kind object|style|nudity|unsafe|identity] [--guide G]
       [--preserve P ...] [--preserve-scale s] [--erase-scale s] [--lambda l] [--epochs n] [--rece-lambda l]
       [--convention aligned|last-token] [--strength a] [--rank r] [--patch-dtype f32|f16|bf16]
       [--merged FILE] [--save-adversarial FILE] [--backend auto|cpu|webgpu[,ort-web|ort-node]] [--no-cache] [--json]

Erases the concepts in closed form (UCE; with --method rece, the default, also RECE's adversarial epochs)
and writes a kohya-style LoRA patch that AUTOMATIC1111, ComfyUI and diffusers load. Defaults follow the
reference settings per kind: styles use guide "art" and preserve the other 1,733 artists of the UCE set at
0.1 (given --preserve texts replace that list); nudity runs 3 RECE epochs with λ 0.1.
--method fmn re-steers cross-attention away from the concept (Forget-Me-Not): [--images DIR] (PNG references;
default: images the model generates) [--steps n] (per concept, default 35) [--lr x] (default 2e-6)
[--fmn-loss global|per-layer] [--penalty squares|mass] [--eos all|first|none|after] [--image-count n] [--tolerance t] [--seed n]
[--template T ...] ({} = the concept; several are taken in turn) [--fmn-scope qk|k] [--preserve P ...] (not in the
reference recipe: to_k changes only where P's prompts don't look, and to_q only in directions their keys don't
meet) [--preserve-ridge r] (default 0.05; larger lets weights move more) [--no-preserve-queries] (keys only)
[--preserve-attention w] (also hold P's own attention, on images the model draws of P, to the base model's with
weight w) [--no-preserve-keys] (P by attention anchoring only, no projection).
--save-adversarial writes RECE's derived embeddings (77×d per concept and epoch, float32): prompts in
embedding space that still evoked the concept before each epoch — an attack to test other erasures with.`;

function num(values: Record<string, unknown>, name: string): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) {
    throw new CliError(`--${name} must be a number, got "${v}"`);
  }
  return n;
}

/**
 * Runs `forget erase`; returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { eraseCommand } from "./erase.ts";
 * await eraseCommand(["--model", "v1-5.safetensors", "--concept", "zebra", "--out", "no-zebra.safetensors"]);
 * ```
 */
export async function eraseCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    model: { type: "string" },
    concept: { type: "string", multiple: true },
    out: { type: "string" },
    method: { type: "string" },
    kind: { type: "string" },
    guide: { type: "string" },
    preserve: { type: "string", multiple: true },
    "preserve-scale": { type: "string" },
    "erase-scale": { type: "string" },
    lambda: { type: "string" },
    epochs: { type: "string" },
    "rece-lambda": { type: "string" },
    convention: { type: "string" },
    strength: { type: "string" },
    rank: { type: "string" },
    "patch-dtype": { type: "string" },
    merged: { type: "string" },
    "save-adversarial": { type: "string" },
    images: { type: "string" },
    steps: { type: "string" },
    lr: { type: "string" },
    "fmn-loss": { type: "string" },
    penalty: { type: "string" },
    "fmn-scope": { type: "string" },
    template: { type: "string", multiple: true },
    "preserve-ridge": { type: "string" },
    "no-preserve-queries": { type: "boolean" },
    "no-preserve-keys": { type: "boolean" },
    "preserve-attention": { type: "string" },
    eos: { type: "string" },
    "image-count": { type: "string" },
    tolerance: { type: "string" },
    seed: { type: "string" },
    backend: { type: "string" },
    "no-cache": { type: "boolean" },
    json: { type: "boolean" },
  }, HELP);
  if (!parsed) return 0;
  const { values } = parsed;
  const t0 = performance.now();
  const modelPath = requireString(values, "model");
  const out = requireString(values, "out");
  const concepts = (values.concept as string[] | undefined) ?? [];
  if (!concepts.length) throw new CliError("--concept is required (repeat it for several concepts)");
  const rank = num(values, "rank");
  if (rank !== undefined && !(Number.isInteger(rank) && rank >= 1)) {
    throw new CliError(`--rank must be a positive integer, got ${rank}`);
  }
  const options: ForgetOptions = {
    method: values.method === undefined
      ? undefined
      : oneOf(values, "method", ["uce", "rece", "fmn"] as const),
    kind: values.kind === undefined
      ? undefined
      : oneOf(values, "kind", ["object", "style", "nudity", "unsafe", "identity"] as ConceptKind[]),
    guide: values.guide as string | undefined,
    preserve: values.preserve as string[] | undefined,
    preserveScale: num(values, "preserve-scale"),
    eraseScale: num(values, "erase-scale"),
    lambda: num(values, "lambda"),
    epochs: num(values, "epochs"),
    receLambda: num(values, "rece-lambda"),
    convention: values.convention === undefined
      ? undefined
      : oneOf(values, "convention", ["aligned", "last-token"] as const),
    strength: num(values, "strength"),
    images: values.images as string | undefined,
    steps: num(values, "steps"),
    lr: num(values, "lr"),
    fmnLoss: values["fmn-loss"] === undefined
      ? undefined
      : oneOf(values, "fmn-loss", ["global", "per-layer"] as const),
    penalty: values.penalty === undefined
      ? undefined
      : oneOf(values, "penalty", ["squares", "mass"] as const),
    eos: values.eos === undefined
      ? undefined
      : oneOf(values, "eos", ["all", "first", "none", "after"] as const),
    imageCount: num(values, "image-count"),
    fmnScope: values["fmn-scope"] === undefined
      ? undefined
      : oneOf(values, "fmn-scope", ["qk", "k"] as const),
    preserveRidge: num(values, "preserve-ridge"),
    preserveQueries: values["no-preserve-queries"] ? false : undefined,
    preserveKeys: values["no-preserve-keys"] ? false : undefined,
    preserveAttention: num(values, "preserve-attention"),
    templates: values.template as string[] | undefined,
    tolerance: num(values, "tolerance"),
    seed: num(values, "seed"),
  };
  const dtype = oneOf(values, "patch-dtype", ["f32", "f16", "bf16"] as const, "f32").toUpperCase() as
    | "F32"
    | "F16"
    | "BF16";
  assertDistinctOutput(modelPath, out);
  const merged = values.merged as string | undefined;
  if (merged) {
    assertDistinctOutput(modelPath, merged);
    if (merged === out) throw new CliError("--merged and --out must be different files");
  }
  const model = await loadModel(modelPath, {
    backend: values.backend as string | undefined,
    cacheDir: values["no-cache"] ? null : undefined,
  });
  try {
    let p;
    try {
      p = model.forget(concepts, options);
    } catch (e) {
      throw new CliError((e as Error).message);
    }
    const quiet = values.json === true;
    const onPhase = quiet ? undefined : (phase: string) => console.error(`  ${phase}…`);
    if (!quiet) {
      console.error(
        `erasing ${concepts.map((c) => JSON.stringify(c)).join(", ")} from ${modelPath} (${model.family})`,
      );
    }
    const bar = progressBar("  re-steering");
    const onStep = (step: number, steps: number, loss: number) => {
      bar.update((step + 1) / steps);
      if (!quiet && !Deno.stderr.isTerminal() && (step % 10 === 0 || step === steps - 1)) {
        console.error(`  step ${step + 1}/${steps} loss ${loss.toPrecision(4)}`);
      }
    };
    await p.run({ rank, onPhase, onStep });
    bar.done();
    const tWrite = performance.now();
    const result = await p.savePatch(out, { rank, dtype });
    if (merged) await p.saveMerged(merged);
    const advPath = values["save-adversarial"] as string | undefined;
    if (advPath) {
      assertDistinctOutput(modelPath, advPath);
      const tensors: Record<string, TensorData> = {};
      result.adversarial.forEach((a, i) => {
        tensors[`adversarial.${i}`] = {
          dtype: "F32",
          shape: [a.embeddings.rows, a.embeddings.cols],
          data: Float32Array.from(a.embeddings.data),
        };
      });
      await writeSafetensors(advPath, tensors, {
        format: "pt",
        "forget.adversarial": JSON.stringify(
          result.adversarial.map((a, i) => ({
            tensor: `adversarial.${i}`,
            concept: a.concept,
            epoch: a.epoch,
          })),
        ),
      });
    }
    const writeSeconds = (performance.now() - tWrite) / 1000;
    const total = (performance.now() - t0) / 1000;
    const report = {
      model: modelPath,
      family: model.family,
      concepts,
      method: result.edit.provenance.method,
      patch: {
        path: out,
        bytes: result.patchBytes,
        modules: result.edit.deltas.length,
        maxRank: Math.max(0, ...result.edit.deltas.map((d) => d.rank)),
      },
      merged: merged ?? null,
      seconds: { total, erase: result.seconds, write: writeSeconds },
      steps: result.reports,
      fmn: result.fmnReport,
      truncationErrors: rank
        ? Object.fromEntries(result.edit.deltas.map((d) => [d.module, d.relativeError]))
        : undefined,
    };
    if (quiet) console.log(JSON.stringify(report, null, 2));
    else {
      const worst = (k: "erased" | "preserved") =>
        Math.max(0, ...result.reports.flatMap((r) => r.layers.map((l) => l[k])));
      console.log(
        `wrote ${out} (${(result.patchBytes / 1024).toFixed(1)} KiB, ${report.patch.modules} modules, ` +
          `rank ≤ ${report.patch.maxRank})` + (merged ? ` and ${merged}` : "") + ` in ${total.toFixed(2)} s`,
      );
      const f = result.fmnReport;
      if (f) {
        const drops = Object.entries(f.massReduction).map(([c, r]) => `${(100 * r).toFixed(1)}% (${c})`);
        console.log(
          `  loss ${f.losses[0].toPrecision(4)} → ${f.losses[f.losses.length - 1].toPrecision(4)}; ` +
            `attention on the concept's tokens fell by ${drops.join(", ")}` +
            (f.preservedKeyDrift !== undefined
              ? `; preserved prompts' keys moved at most ${(100 * f.preservedKeyDrift).toFixed(2)}%`
              : "") +
            (f.anchorDrift?.length
              ? `; anchored attention drift ‖P − P⁰‖ ${f.anchorDrift.at(-1)!.toPrecision(3)} at the last step`
              : ""),
        );
      } else {
        console.log(
          `  erased keys: worst relative residual ${worst("erased").toExponential(2)}; ` +
            `preserved keys moved at most ${worst("preserved").toExponential(2)}`,
        );
      }
    }
  } finally {
    model.close();
  }
  return 0;
}
