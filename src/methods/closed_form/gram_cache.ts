/**
 * Cached Gram matrices Σ xxᵀ (d×d, float64): the preserve set of an erasure (1,733 artists × 77 rows is
 * minutes of text encoding on a CPU) and the Gram of a model's cross-attention weights (RECE). Kept in
 * memory, and on disk under `$FORGET_CACHE_DIR` (default `~/.cache/forget`) as safetensors, keyed by the
 * base model's hash and everything else the matrix depends on.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { type Matrix64, matrix64 } from "../../../kernels/matrix.ts";
import { SafetensorsFile, writeSafetensors } from "../../formats/safetensors.ts";

/** The default cache folder. */
export function defaultCacheDir(): string {
  return Deno.env.get("FORGET_CACHE_DIR") ?? join(homedir(), ".cache", "forget");
}

/** A Gram matrix cache: memory first, then disk (unless `dir` is null). */
export class GramCache {
  readonly #memory = new Map<string, Matrix64>();
  /** Disk folder, or null for memory only. */
  readonly dir: string | null;

  /** A cache writing to `dir` (null: memory only). */
  constructor(dir: string | null = defaultCacheDir()) {
    this.dir = dir;
  }

  /** A stable key from the parts a Gram matrix depends on. */
  static key(parts: unknown[]): string {
    return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
  }

  /**
   * The cached matrix for `key`, or the result of `compute`, stored for next time. `hit` tells which.
   *
   * @example
   * ```ts ignore
   * import { GramCache } from "./gram_cache.ts";
   * const cache = new GramCache(null);
   * const { gram } = await cache.getOrCompute(GramCache.key(["model", "artists"]), () => computeGram());
   * ```
   */
  async getOrCompute(
    key: string,
    compute: () => Promise<Matrix64>,
  ): Promise<{ gram: Matrix64; hit: boolean }> {
    const mem = this.#memory.get(key);
    if (mem) return { gram: mem, hit: true };
    const path = this.dir ? join(this.dir, "grams", `${key}.safetensors`) : null;
    if (path && await stat(path).then(() => true, () => false)) {
      try {
        const f = await SafetensorsFile.open(path);
        const [rows, cols] = f.info("gram").shape;
        const raw = await f.readRaw("gram");
        f.close();
        const gram = matrix64(rows, cols, new Float64Array(raw.bytes.slice().buffer));
        this.#memory.set(key, gram);
        return { gram, hit: true };
      } catch { /* a damaged cache entry is recomputed */ }
    }
    const gram = await compute();
    this.#memory.set(key, gram);
    if (path) {
      try {
        await mkdir(join(this.dir!, "grams"), { recursive: true });
        await writeSafetensors(path, {
          gram: { dtype: "F64", shape: [gram.rows, gram.cols], data: gram.data },
        });
      } catch { /* the cache is an optimisation: a read-only home is not an error */ }
    }
    return { gram, hit: false };
  }
}
