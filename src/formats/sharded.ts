/**
 * Sharded safetensors checkpoints: a `*.safetensors.index.json` whose `weight_map` sends each tensor
 * name to the shard file holding it, presented as one {@linkcode TensorSource}.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { findJsonProblem } from "./json_scan.ts";
import { SafetensorsFile } from "./safetensors.ts";
import { MissingTensorError, type RawTensor, type TensorMeta, type TensorSource } from "./tensor_source.ts";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A shard name must be a bare file name: no folder part, no "." or "..", no NUL. */
function isPlainFileName(file: unknown): file is string {
  return typeof file === "string" && file !== "" && file !== "." && file !== ".." &&
    !/[\\/\0]/.test(file);
}

/**
 * All shards of a sharded checkpoint, opened together.
 *
 * @example
 * ```ts ignore
 * import { ShardedSafetensors } from "./sharded.ts";
 * const unet = await ShardedSafetensors.open("unet/diffusion_pytorch_model.safetensors.index.json");
 * unet.names().length;
 * ```
 */
export class ShardedSafetensors implements TensorSource {
  /** Path of the index file. */
  readonly path: string;
  /** The index's `metadata` object (e.g. `total_size`), stringified values. */
  readonly metadata: Record<string, string>;
  readonly #shards: Map<string, SafetensorsFile>;
  readonly #where: Map<string, SafetensorsFile>;

  private constructor(
    path: string,
    metadata: Record<string, string>,
    shards: Map<string, SafetensorsFile>,
    where: Map<string, SafetensorsFile>,
  ) {
    this.path = path;
    this.metadata = metadata;
    this.#shards = shards;
    this.#where = where;
  }

  /** Opens the index at `indexPath` and every shard it names, checking that each tensor is where it says. */
  static async open(indexPath: string): Promise<ShardedSafetensors> {
    let text: string;
    try {
      text = await readFile(indexPath, "utf8");
    } catch (e) {
      throw new Error(`${indexPath}: cannot read the shard index: ${(e as Error).message}`);
    }
    let index: unknown;
    try {
      index = JSON.parse(text);
    } catch (e) {
      throw new Error(`${indexPath}: shard index is not valid JSON (${(e as Error).message})`);
    }
    const duplicate = findJsonProblem(text, new Set());
    if (duplicate) throw new Error(`${indexPath}: shard index has a ${duplicate}`);
    const map = isObject(index) ? index.weight_map : undefined;
    if (!isObject(map)) throw new Error(`${indexPath}: shard index has no "weight_map" object`);
    const shards = new Map<string, SafetensorsFile>();
    const where = new Map<string, SafetensorsFile>();
    try {
      for (const [name, file] of Object.entries(map)) {
        if (!isPlainFileName(file)) {
          throw new Error(
            `${indexPath}: weight_map entry "${name}" names an invalid shard ${JSON.stringify(file)} ` +
              `(must be a file name in the index's folder)`,
          );
        }
        let shard = shards.get(file);
        if (!shard) {
          const shardPath = join(dirname(indexPath), file);
          try {
            shard = await SafetensorsFile.open(shardPath);
          } catch (e) {
            throw new Error(`${indexPath}: shard ${file} (for "${name}"): ${(e as Error).message}`, {
              cause: e,
            });
          }
          shards.set(file, shard);
        }
        if (!shard.has(name)) {
          throw new Error(
            `${indexPath}: weight_map puts "${name}" in ${file}, but that shard does not hold it`,
          );
        }
        where.set(name, shard);
      }
    } catch (e) {
      for (const s of shards.values()) s.close();
      throw e;
    }
    const indexMeta = isObject(index) ? index.metadata : undefined;
    const meta: Record<string, string> = Object.fromEntries(
      Object.entries(isObject(indexMeta) ? indexMeta : {}).map((
        [k, v],
      ) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    return new ShardedSafetensors(indexPath, meta, shards, where);
  }

  /** Tensor names in index order. */
  names(): string[] {
    return [...this.#where.keys()];
  }

  /** Whether the checkpoint holds that tensor. */
  has(name: string): boolean {
    return this.#where.has(name);
  }

  #shard(name: string): SafetensorsFile {
    const s = this.#where.get(name);
    if (!s) throw new MissingTensorError(name, this.path);
    return s;
  }

  /** dtype and shape of a tensor. */
  info(name: string): TensorMeta {
    return this.#shard(name).info(name);
  }

  /** The tensor converted to float32. */
  readFloat32(name: string): Promise<Float32Array> {
    return this.#shard(name).readFloat32(name);
  }

  /** The tensor's stored bytes. */
  readRaw(name: string): Promise<RawTensor> {
    return this.#shard(name).readRaw(name);
  }

  /** Closes every shard. */
  close(): void {
    for (const s of this.#shards.values()) s.close();
  }
}

/**
 * Opens a `.safetensors` file or a `.safetensors.index.json` shard index as a closable source.
 *
 * @example
 * ```ts ignore
 * import { openSafetensors } from "./sharded.ts";
 * const src = await openSafetensors("text_encoder/model.safetensors");
 * ```
 */
export function openSafetensors(path: string): Promise<SafetensorsFile | ShardedSafetensors> {
  return path.endsWith(".index.json") ? ShardedSafetensors.open(path) : SafetensorsFile.open(path);
}
