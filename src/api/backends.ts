/**
 * One `--backend` option for both compute layers: the editing math (`webgpu`, `cpu`, `auto`) and the
 * networks on ONNX Runtime (`ort-web`, the WebAssembly build, or `ort-node`, the native build). Give one
 * value or both, comma-separated: `--backend webgpu,ort-node`.
 *
 * @module
 */
import type { Backend } from "../../kernels/backend.ts";
import { BACKEND_CHOICES, type BackendChoice, selectBackend } from "../../kernels/select.ts";
import { ortMatMulProvider } from "../runtime/matmul.ts";
import type { BackendName } from "../runtime/session.ts";

/** The two choices a `--backend` value makes. */
export interface BackendChoices {
  /** Where the editing math runs. */
  compute: BackendChoice;
  /** Which ONNX Runtime build runs the networks. */
  runtime: BackendName;
}

const RUNTIMES: readonly BackendName[] = ["ort-web", "ort-node"];

/**
 * Parses `--backend` (e.g. `"auto"`, `"ort-node"`, `"webgpu,ort-node"`); defaults `auto` and `ort-web`.
 *
 * @example
 * ```ts
 * import { parseBackends } from "./backends.ts";
 * parseBackends("cpu,ort-node"); // { compute: "cpu", runtime: "ort-node" }
 * ```
 */
export function parseBackends(value?: string): BackendChoices {
  const out: BackendChoices = { compute: "auto", runtime: "ort-web" };
  for (const part of (value ?? "").split(",").map((s) => s.trim()).filter(Boolean)) {
    if ((BACKEND_CHOICES as readonly string[]).includes(part)) out.compute = part as BackendChoice;
    else if ((RUNTIMES as readonly string[]).includes(part)) out.runtime = part as BackendName;
    else {
      throw new RangeError(
        `--backend: unknown value "${part}"; use ${BACKEND_CHOICES.join("|")} for the editing math and/or ` +
          `${RUNTIMES.join("|")} for the networks, comma-separated`,
      );
    }
  }
  return out;
}

/**
 * The compute backend for a choice, with ONNX Runtime's MatMul behind the CPU backend's large products
 * (plain TypeScript reaches a few GFLOP/s, ONNX Runtime's native build about 80 on this class of CPU).
 *
 * @example
 * ```ts ignore
 * import { computeBackend, parseBackends } from "./backends.ts";
 * const backend = await computeBackend(parseBackends("auto"));
 * ```
 */
export function computeBackend(choices: BackendChoices): Promise<Backend> {
  return selectBackend(choices.compute, {
    cpu: { matmulProvider: ortMatMulProvider(choices.runtime), gramViaProvider: true },
  });
}
