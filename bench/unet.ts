/**
 * Benchmark of the image-generation networks: one UNet evaluation (batch 2, as classifier-free guidance
 * runs it) of a full-size SD 1.5 at 512×512 (64×64 latents) with synthetic float16 weights, on the native
 * (`ort-node`) and WASM (`ort-web`) builds of ONNX Runtime; graph build and session creation times; the
 * peak resident memory of each configuration, measured alone in a fresh process. Also the cost of making
 * the cross-attention `to_k`/`to_v` graph inputs (patches swap without a new session).
 *
 * Configurations: native with float32 weights, native with float16 weights kept float16 (cast at run
 * time), WASM with float16 weights kept (float32 would not fit its 4 GiB memory).
 *
 * @module
 */
import type { BenchRow, BenchSuite } from "./types.ts";
import { fullCheckpoint } from "./fixtures.ts";
import { type Family, presetConfig } from "../src/models/config.ts";
import { unetWeights } from "../src/models/unet_weights.ts";
import { WASM_MEMORY_BUDGET_BYTES } from "../src/runtime/session.ts";

/** Rows saying which full-size UNets fit the WASM build at all (from the weight list; nothing is run). */
function wasmFit(): BenchRow[] {
  return (["sd15", "sd21", "sdxl"] as Family[]).map((family) => {
    const params = unetWeights(presetConfig(family).unet).reduce(
      (s, w) => s + w.shape.reduce((a, b) => a * b, 1),
      0,
    );
    const bytes = 2 * params;
    const fits = 2 * bytes <= WASM_MEMORY_BUDGET_BYTES;
    return {
      name: `${family} UNet float16 weights`,
      value: bytes / 1e9,
      unit: "GB",
      note: fits
        ? "fits the WASM backend (float16 kept, cast at run time)"
        : "TOO LARGE for the WASM backend's 4 GB: runs on the native backend ort-node only",
    };
  });
}

interface ChildResult {
  ok: boolean;
  error?: string;
  storage?: string;
  buildS?: number;
  createS?: number;
  runS?: number[];
  peakRssBytes: number;
}

async function measure(
  path: string,
  backend: string,
  weights: string,
  latent: number,
  runs: number,
  swappable = false,
): Promise<ChildResult> {
  const child = new URL("./unet_child.ts", import.meta.url).pathname;
  const args = [
    path,
    backend,
    weights,
    String(latent),
    String(runs),
    swappable ? "swappable" : "initializers",
  ];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", child, ...args], // reading /proc/self/status needs --allow-all
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(text);
  } catch {
    return {
      ok: false,
      error: `child exited with code ${out.code}${out.signal ? ` (${out.signal})` : ""}`,
      peakRssBytes: 0,
    };
  }
}

function rows(label: string, r: ChildResult, note: string): BenchRow[] {
  if (!r.ok) {
    return [{
      name: `${label}: does not run`,
      value: r.peakRssBytes / 1e6,
      unit: "MB",
      note: `${r.error}; ${note}`,
    }];
  }
  const best = Math.min(...r.runS!.slice(1).concat(r.runS!.length === 1 ? r.runS! : []));
  return [
    {
      name: `${label}: UNet evaluation, batch 2`,
      value: best,
      unit: "s",
      note: `first run ${r.runS![0].toFixed(1)} s; ${note}`,
    },
    { name: `${label}: graph build + serialize`, value: r.buildS!, unit: "s" },
    { name: `${label}: session creation`, value: r.createS!, unit: "s" },
    { name: `${label}: peak RSS`, value: r.peakRssBytes / 1e6, unit: "MB" },
  ];
}

/** The unet suite. */
export const suite: BenchSuite = {
  name: "unet",
  async run(): Promise<BenchRow[]> {
    const path = await fullCheckpoint("sd15");
    const out: BenchRow[] = wasmFit();
    const nativeF32 = await measure(path, "ort-node", "float32", 64, 3);
    out.push(
      ...rows("sd15 512² ort-node f32 weights", nativeF32, "native backend (onnxruntime-node, --allow-ffi)"),
    );
    const nativeF16 = await measure(path, "ort-node", "stored", 64, 3);
    out.push(...rows("sd15 512² ort-node f16 weights", nativeF16, "float16 initializers cast at run time"));
    const wasm = await measure(path, "ort-web", "auto", 64, 2);
    out.push(...rows("sd15 512² ort-web f16 weights", wasm, "WASM backend, 4 GiB memory"));
    const swap = await measure(path, "ort-node", "float32", 64, 3, true);
    if (swap.ok && nativeF32.ok) {
      const a = Math.min(...swap.runS!.slice(1)), b = Math.min(...nativeF32.runS!.slice(1));
      out.push({
        name: "sd15 512² ort-node: to_k/to_v as graph inputs",
        value: a,
        unit: "s",
        note: `${(a / b).toFixed(3)}× the initializer version; patches swap without a new session`,
      });
    }
    return out;
  },
};
