/**
 * ONNX models kept on disk between processes. Building a text encoder's graph from checkpoint weights and
 * writing it out for the native runtime takes seconds; every `forget erase` in a fresh process paid it
 * again. A model stored here under a key (which must identify the graph and its weights) is handed to
 * ONNX Runtime as a file on the next run.
 *
 * Layout: `<dir>/onnx/<sha256 of key>/model.onnx` (+ its external data file). A folder is complete when it
 * holds `key.txt`; it is written under a temporary name and renamed, so a crash leaves no half model, and a
 * run that finds another process's folder already in place keeps that one. The least recently used folders
 * beyond `maxModels` are removed.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type SerializedModel, writeModelFiles } from "./onnx_model.ts";

/** Where and how many models to keep. */
export interface ModelDiskCache {
  /** Cache root (models go to `<dir>/onnx/`). */
  dir: string;
  /** Most models kept (default 4: a text encoder is 0.25–1.4 GB on disk). */
  maxModels?: number;
}

/** A model on disk: the file ONNX Runtime opens, and the external data file beside it (if any). */
export interface StoredModel {
  /** Path of `model.onnx`. */
  file: string;
  /** Path of the external data file, when the model has one. */
  external?: string;
  /** Total initializer bytes (as {@link SerializedModel.weightBytes}). */
  weightBytes: number;
  /** As {@link SerializedModel.keepsFloat16Weights}. */
  keepsFloat16Weights: boolean;
}

const MODEL_FILE = "model.onnx"; // the name writeModelFiles gives it
const KEY_FILE = "key.txt";
const META_FILE = "meta.json";

function folderOf(cache: ModelDiskCache, key: string): string {
  return join(cache.dir, "onnx", createHash("sha256").update(key).digest("hex").slice(0, 32));
}

/**
 * The stored model for `key`, or null. Marks it used (for eviction).
 *
 * @example
 * ```ts ignore
 * import { findStoredModel } from "./model_disk_cache.ts";
 * const hit = await findStoredModel({ dir: "/tmp/forget-cache" }, "text-encoder:…");
 * ```
 */
export async function findStoredModel(cache: ModelDiskCache, key: string): Promise<StoredModel | null> {
  const folder = folderOf(cache, key);
  const stored = await readFile(join(folder, KEY_FILE), "utf8").catch(() => null);
  if (stored !== key) return null;
  const now = new Date();
  await utimes(join(folder, KEY_FILE), now, now).catch(() => {});
  return storedAt(folder, JSON.parse(await readFile(join(folder, META_FILE), "utf8")));
}

/** What `meta.json` records of a model. */
interface StoredMeta {
  external: string | null;
  weightBytes: number;
  keepsFloat16Weights: boolean;
}

function storedAt(folder: string, meta: StoredMeta): StoredModel {
  return {
    file: join(folder, MODEL_FILE),
    ...(meta.external ? { external: join(folder, meta.external) } : {}),
    weightBytes: meta.weightBytes,
    keepsFloat16Weights: meta.keepsFloat16Weights,
  };
}

/**
 * Writes `model` under `key` (atomically: temporary folder, then rename) and returns where it is.
 *
 * @example
 * ```ts ignore
 * import { storeModel } from "./model_disk_cache.ts";
 * const { file } = await storeModel({ dir: "/tmp/forget-cache" }, "my-graph:v1", serialized);
 * ```
 */
export async function storeModel(
  cache: ModelDiskCache,
  key: string,
  model: SerializedModel,
): Promise<StoredModel> {
  const folder = folderOf(cache, key);
  const tmp = `${folder}.tmp-${Deno.pid}-${Date.now()}`;
  const meta: StoredMeta = {
    external: model.external?.path ?? null,
    weightBytes: model.weightBytes,
    keepsFloat16Weights: !!model.keepsFloat16Weights,
  };
  await mkdir(tmp, { recursive: true });
  try {
    await writeModelFiles(tmp, model);
    await writeFile(join(tmp, META_FILE), JSON.stringify(meta));
    await writeFile(join(tmp, KEY_FILE), key);
    await rm(folder, { recursive: true, force: true });
    await rename(tmp, folder);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    // Another process may have stored the same model meanwhile: use it.
    const theirs = await findStoredModel(cache, key);
    if (theirs) return theirs;
    throw e;
  }
  await evict(cache);
  return storedAt(folder, meta);
}

/** Removes the least recently used complete folders beyond `maxModels`, and stale temporary folders. */
async function evict(cache: ModelDiskCache): Promise<void> {
  const root = join(cache.dir, "onnx");
  const keep = cache.maxModels ?? 4;
  const entries = await readdir(root).catch(() => [] as string[]);
  const complete: { path: string; used: number }[] = [];
  for (const name of entries) {
    const path = join(root, name);
    if (name.includes(".tmp-")) {
      // Left by a crashed run more than an hour ago.
      const st = await stat(path).catch(() => null);
      if (st && Date.now() - st.mtimeMs > 3_600_000) await rm(path, { recursive: true, force: true });
      continue;
    }
    const st = await stat(join(path, KEY_FILE)).catch(() => null);
    if (st) complete.push({ path, used: st.mtimeMs });
  }
  complete.sort((a, b) => b.used - a.used);
  for (const old of complete.slice(keep)) await rm(old.path, { recursive: true, force: true });
}
