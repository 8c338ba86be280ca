/**
 * One interface over ONNX Runtime's two JavaScript builds: `onnxruntime-web` (WASM, the default;
 * needs no permissions beyond reading its own files) and `onnxruntime-node` (native, faster; needs
 * `--allow-ffi`). Sessions are created from serialized models, timed, and can be cached by key.
 *
 * The WASM build's multithreading works in Deno (it has SharedArrayBuffer and Worker): one thread
 * per core is used (a 1024³ MatMul went from 18 to 28 GFLOP/s with 2 threads on a 2-core machine).
 * Idle pool threads do not spin, so several live sessions do not starve each other.
 *
 * @module
 */

import {
  type ExternalChunk,
  loadChunk,
  type OnnxDType,
  type SerializedModel,
  writeModelFiles,
} from "./onnx_model.ts";
import type { StoredModel } from "./model_disk_cache.ts";
import { basename } from "node:path";

/** Which ONNX Runtime build runs the graphs. */
export type BackendName = "ort-web" | "ort-node";

/** The default backend: the WASM build, which runs wherever Deno runs. */
export const DEFAULT_BACKEND: BackendName = "ort-web";

/** Typed arrays that can carry tensor data in and out of a session. */
export type RuntimeArray =
  | Float32Array
  | Int32Array
  | BigInt64Array
  | Uint16Array
  | Uint8Array
  | Float64Array;

/** A tensor passed to or returned from a session. */
export interface RuntimeTensor {
  /** Element type. */
  dtype: OnnxDType;
  /** Shape. */
  dims: number[];
  /** Elements in row-major order. */
  data: RuntimeArray;
}

/** An inference session on either backend. */
export interface RuntimeSession {
  /** The backend that runs it. */
  readonly backend: BackendName;
  /** Graph input names. */
  readonly inputNames: readonly string[];
  /** Graph output names. */
  readonly outputNames: readonly string[];
  /** Milliseconds spent creating the session (model parsing, optimization, weight upload). */
  readonly createMs: number;
  /** Runs the graph; fetches `outputs` (default: all graph outputs). */
  run(
    feeds: Record<string, RuntimeTensor>,
    outputs?: readonly string[],
  ): Promise<Record<string, RuntimeTensor>>;
  /** Frees the native/WASM resources. */
  release(): Promise<void>;
}

/** Options of {@link createSession}. */
export interface SessionOptions {
  /** Backend (default {@link DEFAULT_BACKEND}). */
  backend?: BackendName;
  /** Threads for the intra-op pool (default: all cores). */
  threads?: number;
  /**
   * Let ONNX Runtime repack MatMul weights for its kernels at creation (default true). Repacking a text
   * encoder doubles its creation time (1.35 → 0.74 s for CLIP-L) and buys about 20% per run; a session
   * that runs a handful of prompts is faster without it.
   */
  prepack?: boolean;
}

/** The WASM build addresses at most 4 GiB; leave room for activations and the runtime itself. */
export const WASM_MEMORY_BUDGET_BYTES: number = 3.5 * 2 ** 30;

// The shape both ORT packages share (from onnxruntime-common); typed loosely to keep both imports lazy.
// deno-lint-ignore no-explicit-any
type OrtModule = any;

let webModule: Promise<OrtModule> | undefined;
let nodeModule: Promise<OrtModule> | undefined;

/** Threads usable by the WASM build in this process (set once, before its first session). */
export function wasmThreadCount(): number {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  // Multithreading needs SharedArrayBuffer and Worker; Deno provides both.
  return typeof SharedArrayBuffer === "function" && typeof Worker === "function" ? Math.max(1, cores) : 1;
}

function loadWeb(): Promise<OrtModule> {
  webModule ??= import("onnxruntime-web").then((ort) => {
    ort.env.wasm.numThreads ??= wasmThreadCount();
    ort.env.logLevel = "error";
    return ort;
  });
  return webModule;
}

function loadNode(): Promise<OrtModule> {
  nodeModule ??= import("onnxruntime-node").catch((e: Error) => {
    nodeModule = undefined;
    throw new Error(
      `backend ort-node could not be loaded (${e.message}); it needs Deno's --allow-ffi permission ` +
        "(with --allow-read, --allow-env and --allow-sys); the default backend ort-web does not need --allow-ffi",
    );
  });
  return nodeModule;
}

/** Loads the ORT module of a backend (cached). */
function ortModule(backend: BackendName): Promise<OrtModule> {
  if (backend === "ort-web") return loadWeb();
  if (backend === "ort-node") return loadNode();
  throw new Error(
    `unknown backend "${backend}"; use ort-web (WASM, default) or ort-node (native, --allow-ffi)`,
  );
}

/** Parses a `--backend` argument value. */
export function parseBackend(value: string | undefined): BackendName {
  if (value === undefined || value === "") return DEFAULT_BACKEND;
  if (value === "ort-web" || value === "ort-node") return value;
  throw new Error(`--backend: unknown backend "${value}"; use ort-web (WASM, default) or ort-node (native)`);
}

async function joinChunks(chunks: ExternalChunk[], byteLength: number): Promise<Uint8Array> {
  if (chunks.length === 1) return await loadChunk(chunks[0]);
  const out = new Uint8Array(byteLength);
  let o = 0;
  for (const chunk of chunks) {
    const c = await loadChunk(chunk);
    out.set(c, o);
    o += c.length;
  }
  return out;
}

async function writeExternalModel(model: SerializedModel): Promise<{ dir: string; file: string }> {
  const dir = await Deno.makeTempDir({ prefix: "forget-onnx-" });
  return { dir, file: await writeModelFiles(dir, model) };
}

/**
 * Creates an inference session for a serialized model.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./graph.ts";
 * import { serializeModel } from "./onnx_model.ts";
 * import { createSession } from "./session.ts";
 * const g = new GraphBuilder("neg");
 * g.output(g.op("Neg", [g.input("x", "float32", [2])]), "float32", [2]);
 * const s = await createSession(serializeModel(g.build()));
 * const { Neg_0 } = await s.run({ x: { dtype: "float32", dims: [2], data: new Float32Array([1, 2]) } });
 * await s.release();
 * ```
 */
export async function createSession(
  model: SerializedModel,
  options: SessionOptions = {},
): Promise<RuntimeSession> {
  const external = model.external;
  return await openSession(
    model.weightBytes,
    !!model.keepsFloat16Weights,
    options,
    async (ort, o, backend) => {
      if (!external) return await ort.InferenceSession.create(model.model, o);
      if (backend === "ort-web") {
        o.externalData = [{
          path: external.path,
          data: await joinChunks(external.chunks, external.byteLength),
        }];
        return await ort.InferenceSession.create(model.model, o);
      }
      // The native build reads external data from files next to the model.
      const written = await writeExternalModel(model);
      try {
        return await ort.InferenceSession.create(written.file, o);
      } finally {
        await Deno.remove(written.dir, { recursive: true }).catch(() => {});
      }
    },
  );
}

/**
 * Creates an inference session for a model stored on disk (see `model_disk_cache.ts`): the native build
 * opens the file itself; the WASM build is handed the bytes.
 *
 * @example
 * ```ts ignore
 * import { findStoredModel } from "./model_disk_cache.ts";
 * import { createStoredSession } from "./session.ts";
 * const stored = await findStoredModel({ dir: "/tmp/cache" }, key);
 * if (stored) await createStoredSession(stored, { backend: "ort-node" });
 * ```
 */
export async function createStoredSession(
  stored: StoredModel,
  options: SessionOptions = {},
): Promise<RuntimeSession> {
  return await openSession(
    stored.weightBytes,
    stored.keepsFloat16Weights,
    options,
    async (ort, o, backend) => {
      if (backend === "ort-node") return await ort.InferenceSession.create(stored.file, o);
      if (stored.external) {
        o.externalData = [{ path: basename(stored.external), data: await Deno.readFile(stored.external) }];
      }
      return await ort.InferenceSession.create(await Deno.readFile(stored.file), o);
    },
  );
}

/**
 * What both ways of creating a session share: the backend choice, the WASM memory check, the runtime's
 * module and session options, and the timing of `create`.
 */
async function openSession(
  weightBytes: number,
  keepsFloat16Weights: boolean,
  options: SessionOptions,
  create: (
    ort: OrtModule,
    sessionOptions: Record<string, unknown>,
    backend: BackendName,
  ) => Promise<OrtModule>,
): Promise<RuntimeSession> {
  const backend = options.backend ?? DEFAULT_BACKEND;
  checkWasmBudget(backend, weightBytes);
  const ort = await ortModule(backend);
  const sessionOptions = ortSessionOptions(backend, keepsFloat16Weights, options);
  const t0 = performance.now();
  const session = await create(ort, sessionOptions, backend);
  return wrapSession(ort, session, backend, performance.now() - t0);
}

function checkWasmBudget(backend: BackendName, weightBytes: number): void {
  if (backend === "ort-web" && weightBytes * 2 > WASM_MEMORY_BUDGET_BYTES) {
    // The WASM heap holds the model bytes and the session's own copy of every weight.
    throw new Error(
      `this model's weights take ${(weightBytes / 2 ** 30).toFixed(2)} GiB, too much for the WASM ` +
        "backend's 4 GiB memory; use the native backend: --backend ort-node (needs --allow-ffi)",
    );
  }
}

function ortSessionOptions(
  backend: BackendName,
  keepsFloat16Weights: boolean,
  options: SessionOptions,
): Record<string, unknown> {
  const sessionOptions: Record<string, unknown> = {
    // With float16 weights kept, "all" would still fold their Casts into float32 copies (measured with
    // ONNX Runtime 1.30's profiler); "extended" with ConstantFolding disabled keeps them.
    graphOptimizationLevel: keepsFloat16Weights ? "extended" : "all",
    executionMode: "sequential",
    logSeverityLevel: 3,
    // Idle intra-op threads would otherwise spin after each run and starve the other sessions'
    // threads (and everything else) on a small machine.
    extra: {
      session: {
        intra_op: { allow_spinning: "0" },
        ...(options.prepack === false ? { disable_prepacking: "1" } : {}),
      },
      ...(keepsFloat16Weights ? { optimization: { disable_specified_optimizers: "ConstantFolding" } } : {}),
    },
  };
  if (backend === "ort-node") {
    sessionOptions.intraOpNumThreads = options.threads ?? globalThis.navigator?.hardwareConcurrency ?? 1;
  }
  return sessionOptions;
}

function wrapSession(
  ort: OrtModule,
  session: OrtModule,
  backend: BackendName,
  createMs: number,
): RuntimeSession {
  return {
    backend,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    createMs,
    async run(feeds, outputs) {
      const ortFeeds: Record<string, unknown> = {};
      for (const [name, t] of Object.entries(feeds)) {
        ortFeeds[name] = new ort.Tensor(t.dtype, t.data, t.dims);
      }
      const fetches = outputs ? [...outputs] : undefined;
      const result = fetches ? await session.run(ortFeeds, fetches) : await session.run(ortFeeds);
      const out: Record<string, RuntimeTensor> = {};
      for (const [name, t] of Object.entries(result as Record<string, OrtModule>)) {
        out[name] = { dtype: t.type as OnnxDType, dims: [...t.dims], data: t.data as RuntimeArray };
        t.dispose?.();
      }
      return out;
    },
    async release() {
      await session.release();
    },
  };
}
