/**
 * Shared setup of the WebGPU twin tests: one device for the whole test file, or `undefined` when this
 * machine has no adapter (the tests are then ignored, loudly; set `FORGET_REQUIRE_WEBGPU=1` to make
 * that an error, as CI does).
 *
 * @module
 */

import { GpuContext } from "./context.ts";
import { openDevice, probeAdapter } from "./device.ts";

/**
 * A GPU context for tests, or `undefined` without an adapter.
 *
 * @example
 * ```ts
 * import { gpuForTests } from "./test_support.ts";
 * const ctx = await gpuForTests();
 * console.log(ctx === undefined || ctx.maxBindingBytes > 0); // true
 * ```
 */
export async function gpuForTests(maxBindingBytes?: number): Promise<GpuContext | undefined> {
  const probe = await probeAdapter();
  if (probe.status !== "ok") {
    if (Deno.env.get("FORGET_REQUIRE_WEBGPU") === "1") {
      throw new Error(`WebGPU tests need an adapter: ${probe.status}`);
    }
    console.warn(`WebGPU twin tests skipped: ${probe.status}`);
    return undefined;
  }
  return new GpuContext(await openDevice(probe), maxBindingBytes);
}
