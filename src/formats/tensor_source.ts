/**
 * The one interface through which the model layer reads weights: a set of named tensors, read lazily.
 *
 * A safetensors file, a sharded checkpoint, one component of a single-file checkpoint (renamed to
 * diffusers names) and an in-memory map all present themselves as a `TensorSource`.
 *
 * @module
 */
import { type DType, toFloat32 } from "./dtype.ts";

/** dtype and shape of a stored tensor. */
export interface TensorMeta {
  /** Element type as stored. */
  dtype: DType;
  /** Dimensions, row-major. */
  shape: number[];
}

/** Raw stored bytes of a tensor with its dtype and shape. */
export interface RawTensor extends TensorMeta {
  /** Little-endian element bytes, `numel(shape) * DTYPE_BYTES[dtype]` long. */
  bytes: Uint8Array;
}

/** Named tensors, read on demand. */
export interface TensorSource {
  /** Every tensor name, in a stable order. */
  names(): string[];
  /** Whether a tensor of that name exists. */
  has(name: string): boolean;
  /** dtype and shape of a tensor; throws an error naming the tensor when it is missing. */
  info(name: string): TensorMeta;
  /** The tensor converted to float32. */
  readFloat32(name: string): Promise<Float32Array>;
  /** The tensor's bytes as stored. */
  readRaw(name: string): Promise<RawTensor>;
}

/** Error for a tensor asked for by name that a source does not hold. */
export class MissingTensorError extends Error {
  /** Creates the error; `where` names the file or component. */
  constructor(name: string, where: string) {
    super(`${where}: no tensor named "${name}"`);
    this.name = "MissingTensorError";
  }
}

/**
 * A view of the tensors of `src` whose names start with `prefix`, with the prefix removed.
 *
 * @example
 * ```ts
 * import { memorySource, prefixedSource } from "./tensor_source.ts";
 * const all = memorySource({ "unet.a": { dtype: "F32", shape: [1], data: new Float32Array([1]) } });
 * prefixedSource(all, "unet.").names(); // ["a"]
 * ```
 */
export function prefixedSource(src: TensorSource, prefix: string): TensorSource {
  const names = src.names().filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  return renamedSource(src, new Map(names.map((n) => [n, prefix + n])), `${prefix}*`);
}

/**
 * A view of `src` under new names: `map` sends each new name to the name in `src`.
 *
 * @example
 * ```ts
 * import { memorySource, renamedSource } from "./tensor_source.ts";
 * const src = memorySource({ a: { dtype: "F32", shape: [1], data: new Float32Array([1]) } });
 * renamedSource(src, new Map([["b", "a"]])).names(); // ["b"]
 * ```
 */
export function renamedSource(src: TensorSource, map: Map<string, string>, label = "renamed"): TensorSource {
  const target = (name: string): string => {
    const t = map.get(name);
    if (t === undefined) throw new MissingTensorError(name, label);
    return t;
  };
  return {
    names: () => [...map.keys()],
    has: (name) => map.has(name),
    info: (name) => src.info(target(name)),
    readFloat32: (name) => src.readFloat32(target(name)),
    readRaw: (name) => src.readRaw(target(name)),
  };
}

/** An in-memory tensor for {@linkcode memorySource}: float32 values, or raw bytes of `dtype`. */
export interface MemoryTensor extends TensorMeta {
  /** Float32 values (dtype must then be F32), or raw little-endian bytes of `dtype`. */
  data: Float32Array | Uint8Array;
}

/**
 * A `TensorSource` over tensors held in memory (tests, synthetic weights, computed deltas).
 *
 * @example
 * ```ts
 * import { memorySource } from "./tensor_source.ts";
 * const src = memorySource({ w: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * await src.readFloat32("w"); // Float32Array [1, 2]
 * ```
 */
export function memorySource(tensors: Record<string, MemoryTensor>): TensorSource {
  const get = (name: string): MemoryTensor => {
    const t = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
    if (!t) throw new MissingTensorError(name, "memory");
    return t;
  };
  const bytesOf = (t: MemoryTensor): Uint8Array =>
    t.data instanceof Float32Array
      ? new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
      : t.data;
  return {
    names: () => Object.keys(tensors),
    has: (name) => Object.hasOwn(tensors, name),
    info: (name) => ({ dtype: get(name).dtype, shape: [...get(name).shape] }),
    readFloat32: (name) => {
      const t = get(name);
      return Promise.resolve(t.data instanceof Float32Array ? t.data.slice() : toFloat32(t.dtype, t.data));
    },
    readRaw: (name) => {
      const t = get(name);
      return Promise.resolve({ dtype: t.dtype, shape: [...t.shape], bytes: bytesOf(t).slice() });
    },
  };
}
