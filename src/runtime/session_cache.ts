/**
 * A process-wide cache of inference sessions, keyed by a caller-chosen model key and backend, so a
 * graph is built and its session created once (creation takes from milliseconds to seconds).
 *
 * @module
 */

import type { SerializedModel } from "./onnx_model.ts";
import { type BackendName, createSession, DEFAULT_BACKEND, type RuntimeSession } from "./session.ts";

/** Timings of obtaining a session from the cache. */
export interface SessionTiming {
  /** Whether the session was already cached. */
  cached: boolean;
  /** Milliseconds spent building and serializing the graph (0 when cached). */
  buildMs: number;
  /** Milliseconds spent creating the session (0 when cached). */
  createMs: number;
}

interface Entry {
  session: Promise<RuntimeSession>;
  timing: SessionTiming;
}

const cache = new Map<string, Entry>();

/**
 * Returns the cached session for `key` on `backend`, building it with `build` on first use.
 * Concurrent callers share one creation.
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
  build: () => SerializedModel | Promise<SerializedModel>,
  threads?: number,
): Promise<{ session: RuntimeSession; timing: SessionTiming }> {
  const fullKey = `${backend}\u0000${threads ?? ""}\u0000${key}`;
  const found = cache.get(fullKey);
  if (found) {
    return { session: await found.session, timing: { cached: true, buildMs: 0, createMs: 0 } };
  }
  const timing: SessionTiming = { cached: false, buildMs: 0, createMs: 0 };
  const session = (async () => {
    const t0 = performance.now();
    const model = await build();
    timing.buildMs = performance.now() - t0;
    const s = await createSession(model, { backend, threads });
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
