/**
 * Benchmarks of the compute layer (suite "kernels"): GFLOP/s of the matrix product and of the SPD solve
 * at 768, 1024 and 2048 for each backend available here, plus one FMN attention-gradient step at
 * Stable Diffusion's 64×64-latent size. The WebGPU rows run on whatever adapter exists (a software
 * adapter is marked as such in the note). With a `matmulProvider` in the options, a `cpu+<provider>` backend
 * is measured too. Run alone with `deno run -A bench/kernels.ts [sizes…] [--cpu-only]`.
 *
 * @module
 */

import type { BenchRow, BenchSuite } from "./types.ts";
import { printRows } from "./print.ts";
import type { Backend } from "../kernels/backend.ts";
import { CpuBackend, type CpuBackendOptions } from "../kernels/cpu/backend.ts";
import { randomMatrix, spdWithCondition } from "../kernels/random.ts";
import { WebGpuBackend } from "../kernels/webgpu/backend.ts";
import { probeAdapter } from "../kernels/webgpu/device.ts";

/** Right-hand sides of the benchmarked solves (UCE/RECE solve for a weight's rows). */
const SOLVE_RHS = 512;

function progress(message: string): void {
  console.error(`[bench kernels] ${message}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

/** What to measure. */
export interface KernelBenchOptions {
  /** Matrix sizes; default 768, 1024, 2048. */
  sizes?: number[];
  /** Also measure a CPU backend with these options (e.g. an ONNX Runtime `matmulProvider`). */
  cpu?: CpuBackendOptions;
  /** Skip WebGPU even when an adapter exists. */
  cpuOnly?: boolean;
}

async function backendsHere(options: KernelBenchOptions): Promise<{ backend: Backend; label: string }[]> {
  const out: { backend: Backend; label: string }[] = [{ backend: new CpuBackend(), label: "cpu" }];
  const provider = options.cpu?.matmulProvider;
  if (provider) out.push({ backend: new CpuBackend(options.cpu), label: `cpu+${provider.name}` });
  if (options.cpuOnly) return out;
  const probe = await probeAdapter();
  if (probe.status === "ok") {
    out.push({
      backend: await WebGpuBackend.open(probe),
      label: probe.isFallback ? "webgpu (software)" : "webgpu",
    });
  } else {
    progress(`no WebGPU adapter (${probe.status}): WebGPU rows skipped`);
  }
  return out;
}

/** Measures the kernels at the given sizes. */
export async function runKernelBench(options: KernelBenchOptions = {}): Promise<BenchRow[]> {
  const sizes = options.sizes ?? [768, 1024, 2048];
  const rows: BenchRow[] = [];
  const backends = await backendsHere(options);
  for (const { backend, label } of backends) {
    // Warm-up: compile pipelines and let V8 optimise the CPU loops.
    await backend.matmul(randomMatrix(130, 70, 1), randomMatrix(70, 90, 2));
    await backend.solveSPD(spdWithCondition(70, 10, 3), randomMatrix(70, 5, 4));
    for (const n of sizes) {
      const a = randomMatrix(n, n, n);
      const b = randomMatrix(n, n, n + 1);
      progress(`matmul ${n} on ${label}`);
      const seconds = await timed(() => backend.matmul(a, b));
      rows.push({
        name: `matmul ${n} ${label}`,
        value: (2 * n ** 3) / seconds / 1e9,
        unit: "GFLOP/s",
        note: `${seconds.toFixed(2)} s; ${backend.description}`,
      });
    }
    if (label.startsWith("cpu+")) {
      // The provider only changes products; the solve and attention rows would repeat the cpu ones.
      backend.dispose();
      continue;
    }
    for (const n of sizes) {
      const spd = spdWithCondition(n, 1e4, n + 2);
      const rhs = randomMatrix(n, SOLVE_RHS, n + 3);
      progress(`solveSPD ${n} (${SOLVE_RHS} right-hand sides, κ 1e4) on ${label}`);
      let steps = 0;
      let method = "";
      const seconds = await timed(async () => {
        const r = await backend.solveSPD(spd, rhs, { reportResidual: false });
        steps = r.refinementSteps;
        method = r.method;
      });
      rows.push({
        name: `solveSPD ${n} ${label}`,
        value: (n ** 3 / 3 + 2 * n * n * SOLVE_RHS) / seconds / 1e9,
        unit: "GFLOP/s",
        note: `${seconds.toFixed(2)} s; ${SOLVE_RHS} rhs; ${method}${
          steps ? `, ${steps} refinement steps` : ""
        }`,
      });
    }
    // One FMN layer at SD 1.x down_blocks.0 size: 4096 queries × 320 channels, 8 heads, 77 tokens of 768.
    const input = {
      x: randomMatrix(4096, 320, 7),
      context: randomMatrix(77, 768, 8),
      wq: randomMatrix(320, 320, 9, 0.05),
      wk: randomMatrix(320, 768, 10, 0.05),
      heads: 8,
      keys: [4, 5, 6],
    };
    progress(`attention gradient 4096×320 on ${label}`);
    const seconds = await timed(() => backend.attentionGradient(input, "norm"));
    rows.push({
      name: `attention gradient 4096q×320 ${label}`,
      value: seconds * 1000,
      unit: "ms",
      note: "one FMN cross-attention layer, 8 heads, 77 tokens, 3 chosen keys",
    });
    // Attention anchoring's drift rows: every key, and a second projection and softmax for the reference.
    progress(`attention drift gradient 4096×320 on ${label}`);
    const drift = await timed(() =>
      backend.attentionGradient({
        ...input,
        keys: Array.from({ length: 77 }, (_, i) => i),
        rows: "drift",
        reference: { wq: randomMatrix(320, 320, 11, 0.05), wk: randomMatrix(320, 768, 12, 0.05) },
      }, "norm")
    );
    rows.push({
      name: `attention drift gradient 4096q×320 ${label}`,
      value: drift * 1000,
      unit: "ms",
      note: `attention anchoring's term for the same layer, all 77 keys: ${
        (drift / seconds).toFixed(2)
      }× the row above`,
    });
    backend.dispose();
  }
  return rows;
}

/** The "kernels" suite for `deno task bench`. */
export const suite: BenchSuite = {
  name: "kernels",
  run: () => runKernelBench(),
};

if (import.meta.main) {
  const numbers = Deno.args.filter((a) => /^\d+$/.test(a)).map(Number);
  const options = { sizes: numbers.length ? numbers : undefined, cpuOnly: Deno.args.includes("--cpu-only") };
  printRows(await runKernelBench(options));
}
