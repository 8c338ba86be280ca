/**
 * A process-wide cache of inference sessions, keyed by a caller-chosen model key and backend, so a
 * graph is built and its session created once (creation takes from milliseconds to seconds).
 *
 * @module
 */

import type { SerializedModel } from "./onnx_model.ts";
import { findStoredModel, type ModelDiskCache, storeModel } from "./model_disk_cache.ts";
import {
  type BackendName,
  createSession,
  createStoredSession,
  DEFAULT_BACKEND,
  type RuntimeSession,
} from "./session.ts";

/** Timings of obtaining a session from the cache. */
export interface SessionTiming {
  /** Whether the session was already cached. */
  cached: boolean;
  /** Milliseconds spent building and serializing the graph (0 when cached). */
  buildMs: number;
  /** Milliseconds spent creating the session (0 when cached). */
  createMs: number;
  /** Whether the model came from the disk cache (no graph was built). */
  fromDisk?: boolean;
}

/**
 * Where a built model goes: `"disk"` (the persistent cache; its weights are best written out one at a time
 * as external data, never all in memory) or `"memory"` (handed to the runtime directly).
 */
export type BuildTarget = "disk" | "memory";

/** Keep the built model on disk under `key` (which must identify the graph and its weights). */
export interface PersistOptions {
  /** The disk cache. */
  cache: ModelDiskCache;
  /** Key of the model's content. */
  key: string;
}

/** Options of {@linkcode cachedSession}. */
export interface CachedSessionOptions {
  /** Intra-op threads (native build; default all cores). */
  threads?: number;
  /** Keep the built model on disk too. */
  persist?: PersistOptions;
  /** Whether ONNX Runtime repacks MatMul weights at creation (`SessionOptions.prepack`; default true). */
  prepack?: boolean;
}

interface Entry {
  session: Promise<RuntimeSession>;
  timing: SessionTiming;
}

const cache = new Map<string, Entry>();

/**
 * Returns the cached session for `key` on `backend`, building it with `build` on first use (told whether the
 * model will be stored on disk or handed over in memory).
 * Concurrent callers share one creation. With `persist`, the built model is also kept on disk and later
 * processes create their session from that file instead of building the graph again.
 *
 * @example
 * ```ts
 * import { cachedSession } from "./session_cache.ts";
 * import { GraphBuilder } from "./graph.ts";
 * import { serializeModel } from "./onnx_model.ts";
 * const { session, timing } = await cachedSession("neg", "ort-web", () => {
 *   const g = new GraphBuilder("neg");
 *   g.output(g.op("Neg", [g.input("x", "float32", [2])]), "float32", [2]);
 *   return serializeModel(g.build());
 * });
 * ```
 */
export async function cachedSession(
  key: string,
  backend: BackendName = DEFAULT_BACKEND,
  build: (target: BuildTarget) => SerializedModel | Promise<SerializedModel>,
  options: CachedSessionOptions = {},
): Promise<{ session: RuntimeSession; timing: SessionTiming }> {
  const { threads, persist, prepack } = options;
  const fullKey = `${backend}\u0000${threads ?? ""}${prepack === false ? "/np" : ""}\u0000${key}`;
  const found = cache.get(fullKey);
  if (found) {
    return { session: await found.session, timing: { cached: true, buildMs: 0, createMs: 0 } };
  }
  const timing: SessionTiming = { cached: false, buildMs: 0, createMs: 0 };
  const session = (async () => {
    const t0 = performance.now();
    if (persist) {
      let stored = await findStoredModel(persist.cache, persist.key);
      timing.fromDisk = stored !== null;
      // Storing replaces the temporary files the native build would need anyway.
      stored ??= await storeModel(persist.cache, persist.key, await build("disk"));
      timing.buildMs = performance.now() - t0;
      const s = await createStoredSession(stored, { backend, threads, prepack });
      timing.createMs = s.createMs;
      return s;
    }
    const model = await build("memory");
    timing.buildMs = performance.now() - t0;
    const s = await createSession(model, { backend, threads, prepack });
    timing.createMs = s.createMs;
    return s;
  })();
  cache.set(fullKey, { session, timing });
  try {
    return { session: await session, timing: { ...timing } };
  } catch (e) {
    cache.delete(fullKey);
    throw e;
  }
}

/** Releases and forgets every cached session whose key starts with `prefix` (all when omitted). */
export async function releaseSessions(prefix = ""): Promise<void> {
  const doomed = [...cache.entries()].filter(([k]) => k.split("\u0000")[2].startsWith(prefix));
  for (const [k, entry] of doomed) {
    cache.delete(k);
    try {
      await (await entry.session).release();
    } catch {
      // A session that failed to create has nothing to release.
    }
  }
}

/** Number of sessions currently cached. */
export function cachedSessionCount(): number {
  return cache.size;
}
