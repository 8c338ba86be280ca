/**
 * Choosing a backend: `webgpu`, `cpu`, or `auto` (WebGPU on a hardware adapter, otherwise the CPU; a
 * software adapter such as llvmpipe is for tests, not for speed). This is what every command's
 * `--backend webgpu|cpu|auto` maps to.
 *
 * @module
 */

import type { Backend } from "./backend.ts";
import { CpuBackend, type CpuBackendOptions } from "./cpu/backend.ts";
import { WebGpuBackend, type WebGpuBackendOptions } from "./webgpu/backend.ts";
import { probeAdapter, webGpuUnavailableMessage } from "./webgpu/device.ts";

/** What a user may ask for. */
export type BackendChoice = "webgpu" | "cpu" | "auto";

/** The accepted values of `--backend`. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ["webgpu", "cpu", "auto"];

/**
 * Parses a `--backend` value, with an error that lists the accepted ones.
 *
 * @example
 * ```ts
 * import { parseBackendChoice } from "./select.ts";
 * console.log(parseBackendChoice("cpu")); // "cpu"
 * ```
 */
export function parseBackendChoice(value: string, what = "--backend"): BackendChoice {
  if ((BACKEND_CHOICES as readonly string[]).includes(value)) return value as BackendChoice;
  throw new RangeError(`${what} must be one of ${BACKEND_CHOICES.join(", ")}; got "${value}"`);
}

/** Options of {@linkcode selectBackend}. */
export interface SelectBackendOptions {
  /** Options of the CPU backend (e.g. a native matrix-product provider). */
  cpu?: CpuBackendOptions;
  /** Options of the WebGPU backend. */
  webgpu?: WebGpuBackendOptions;
}

/**
 * Opens a backend. `"webgpu"` throws, naming the cause and the fix, when Deno runs without WebGPU
 * enabled or no adapter exists; it accepts a software adapter (for tests). `"auto"` picks WebGPU only on
 * a hardware adapter.
 *
 * @example
 * ```ts
 * import { selectBackend } from "./select.ts";
 * const backend = await selectBackend("cpu");
 * console.log(backend.kind); // "cpu"
 * backend.dispose();
 * ```
 */
export async function selectBackend(
  kind: BackendChoice = "auto",
  options: SelectBackendOptions = {},
): Promise<Backend> {
  parseBackendChoice(kind, "selectBackend kind");
  if (kind === "cpu") return new CpuBackend(options.cpu);
  const probe = await probeAdapter();
  if (kind === "webgpu") {
    if (probe.status !== "ok") throw new Error(webGpuUnavailableMessage(probe.status));
    return await WebGpuBackend.open(probe, options.webgpu);
  }
  if (probe.status === "ok" && !probe.isFallback) return await WebGpuBackend.open(probe, options.webgpu);
  return new CpuBackend(options.cpu);
}
