/**
 * Finding a WebGPU adapter and opening a device with explicitly requested limits, with errors that say
 * what is missing and how to fix it.
 *
 * @module
 */

/** What WebGPU offers in this process. */
export interface AdapterProbe {
  /** `"ok"`, `"no-webgpu"` (Deno run without WebGPU enabled) or `"no-adapter"`. */
  status: "ok" | "no-webgpu" | "no-adapter";
  /** The adapter when one was found. */
  adapter?: GPUAdapter;
  /** True for a software adapter (llvmpipe, SwiftShader, WARP): fine for tests, slow for real work. */
  isFallback: boolean;
  /** The adapter's description, e.g. `"llvmpipe (LLVM 15.0.6, 256 bits)"`. */
  description: string;
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|softpipe|warp|basic render/i;

/**
 * Asks for a high-performance adapter, reporting why none is available.
 *
 * @example
 * ```ts
 * import { probeAdapter } from "./device.ts";
 * const probe = await probeAdapter();
 * console.log(["ok", "no-webgpu", "no-adapter"].includes(probe.status)); // true
 * ```
 */
export async function probeAdapter(): Promise<AdapterProbe> {
  const gpu = (globalThis.navigator as { gpu?: GPU } | undefined)?.gpu;
  if (!gpu || typeof gpu.requestAdapter !== "function") {
    return { status: "no-webgpu", isFallback: false, description: "" };
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    adapter = null;
  }
  if (!adapter) return { status: "no-adapter", isFallback: false, description: "" };
  // Deno 2.x reports the fallback flag in `info`; older WebGPU drafts had it on the adapter itself.
  const info = (adapter.info ?? {}) as Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean };
  const legacy = adapter as GPUAdapter & { isFallbackAdapter?: boolean };
  const description = [info.description, info.vendor && `vendor ${info.vendor}`].filter(Boolean).join(", ");
  const isFallback = info.isFallbackAdapter === true || legacy.isFallbackAdapter === true ||
    SOFTWARE_NAMES.test(info.description ?? "");
  return { status: "ok", adapter, isFallback, description: description || "unnamed adapter" };
}

/** The error `--backend webgpu` gives when WebGPU cannot be used, naming the cause and the fix. */
export function webGpuUnavailableMessage(status: "no-webgpu" | "no-adapter"): string {
  if (status === "no-webgpu") {
    return "WebGPU is not enabled in this Deno run (navigator.gpu is missing): run with --unstable-webgpu, " +
      'or add "unstable": ["webgpu"] to deno.json; or choose --backend cpu.';
  }
  return "WebGPU is enabled but no adapter was found: install a GPU driver with Vulkan, Metal or DirectX 12 " +
    "support (on Linux without a GPU, Mesa's software Vulkan driver: apt-get install mesa-vulkan-drivers); " +
    "or choose --backend cpu.";
}

/** The opened device with what the kernels need to know about it. */
export interface GpuDevice {
  /** The device. */
  device: GPUDevice;
  /** Largest storage-buffer binding, bytes (as granted). */
  maxBindingBytes: number;
  /** Largest buffer, bytes (as granted). */
  maxBufferBytes: number;
  /** Whether `shader-f16` was enabled. */
  hasF16: boolean;
  /** Adapter description. */
  description: string;
  /** Software adapter? */
  isFallback: boolean;
}

/**
 * Opens a device on `probe`'s adapter, requesting the adapter's full storage-buffer binding and buffer
 * sizes explicitly (the defaults are 128 MiB / 256 MiB, smaller than many adapters offer) and
 * `shader-f16` when present.
 *
 * @example
 * ```ts
 * import { openDevice, probeAdapter } from "./device.ts";
 * const probe = await probeAdapter();
 * if (probe.status === "ok") {
 *   const gpu = await openDevice(probe);
 *   console.log(gpu.maxBindingBytes > 0); // true
 *   gpu.device.destroy();
 * }
 * ```
 */
export async function openDevice(probe: AdapterProbe): Promise<GpuDevice> {
  if (probe.status !== "ok" || !probe.adapter) {
    throw new Error(webGpuUnavailableMessage(probe.status as "no-adapter"));
  }
  const adapter = probe.adapter;
  const hasF16 = adapter.features.has("shader-f16");
  const limits = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures: hasF16 ? ["shader-f16"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: Math.min(8, limits.maxStorageBuffersPerShaderStage),
      maxComputeWorkgroupStorageSize: Math.min(16384, limits.maxComputeWorkgroupStorageSize),
      maxComputeInvocationsPerWorkgroup: Math.min(256, limits.maxComputeInvocationsPerWorkgroup),
    },
  });
  return {
    device,
    maxBindingBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize),
    maxBufferBytes: limits.maxBufferSize,
    hasF16,
    description: probe.description,
    isFallback: probe.isFallback,
  };
}
