/**
 * ONNX model description (the subset of `onnx.proto` this project emits) and its serializer to a
 * `ModelProto`, with large initializers optionally moved to an external data blob.
 *
 * Field numbers follow `onnx/onnx.proto` (IR version 8, opset ≥ 17).
 *
 * @module
 */

import { ProtoWriter } from "./protobuf.ts";

/** Element types this project uses, by their ONNX Runtime JS names. */
export type OnnxDType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int64"
  | "int32"
  | "int8"
  | "uint8"
  | "bool";

/** ONNX `TensorProto.DataType` codes. */
export const ONNX_DTYPE_CODE: Readonly<Record<OnnxDType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  bfloat16: 16,
};

/** Bytes per element of each type. */
export const ONNX_DTYPE_BYTES: Readonly<Record<OnnxDType, number>> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
  bfloat16: 2,
};

/**
 * Initializer bytes produced only when the model is written out: a model built from checkpoint weights then
 * never holds all of them at once (a text encoder's float32 weights are 0.5–2.8 GB).
 */
export type DeferredBytes = () => Promise<Uint8Array>;

/** A constant tensor (initializer or attribute) as little-endian raw bytes. */
export interface OnnxTensor {
  /** Tensor name (initializers are referenced by it). */
  name: string;
  /** Element type. */
  dtype: OnnxDType;
  /** Shape. */
  dims: number[];
  /**
   * Little-endian element bytes, `product(dims) × bytes(dtype)` long, or a function producing them (deferred:
   * allowed only for initializers that go to external data).
   */
  data: Uint8Array | DeferredBytes;
}

/**
 * Bytes of a tensor's data: `product(dims) × bytes(dtype)`.
 *
 * @example
 * ```ts
 * import { tensorByteLength } from "./onnx_model.ts";
 * tensorByteLength({ dtype: "float16", dims: [2, 3] }); // 12
 * ```
 */
export function tensorByteLength(t: Pick<OnnxTensor, "dtype" | "dims">): number {
  return t.dims.reduce((a, b) => a * b, 1) * ONNX_DTYPE_BYTES[t.dtype];
}

/** A deferred initializer's place in the external data blob. */
export interface DeferredChunk {
  /** Initializer name (for error messages). */
  name: string;
  /** Bytes it must produce. */
  byteLength: number;
  /** Produces them. */
  load: DeferredBytes;
}

/** A piece of the external data blob: bytes, or a deferred initializer loaded when written. */
export type ExternalChunk = Uint8Array | DeferredChunk;

/**
 * The bytes of one external chunk, loading a deferred one (and checking its length).
 *
 * @example
 * ```ts
 * import { loadChunk } from "./onnx_model.ts";
 * const bytes = await loadChunk({ name: "w", byteLength: 4, load: () => Promise.resolve(new Uint8Array(4)) });
 * ```
 */
export async function loadChunk(chunk: ExternalChunk): Promise<Uint8Array> {
  if (chunk instanceof Uint8Array) return chunk;
  const bytes = await chunk.load();
  if (bytes.length !== chunk.byteLength) {
    throw new Error(
      `initializer ${chunk.name}: produced ${bytes.length} bytes, its shape needs ${chunk.byteLength}`,
    );
  }
  return bytes;
}

/**
 * The model with every deferred initializer loaded, for serializing it whole (inline).
 *
 * @example
 * ```ts ignore
 * import { loadDeferredInitializers, serializeModel } from "./onnx_model.ts";
 * const bytes = serializeModel(await loadDeferredInitializers(model)).model;
 * ```
 */
export async function loadDeferredInitializers(m: OnnxModel): Promise<OnnxModel> {
  const initializers: OnnxTensor[] = [];
  for (const t of m.initializers) {
    initializers.push(
      t.data instanceof Uint8Array
        ? t
        : { ...t, data: await loadChunk({ name: t.name, byteLength: tensorByteLength(t), load: t.data }) },
    );
  }
  return { ...m, initializers };
}

/** A float attribute (plain numbers are integer attributes). */
export interface FloatAttr {
  /** Discriminator. */
  kind: "float";
  /** The value. */
  value: number;
}

/** A list-of-floats attribute. */
export interface FloatsAttr {
  /** Discriminator. */
  kind: "floats";
  /** The values. */
  value: number[];
}

/** A tensor attribute (e.g. of `Constant`). */
export interface TensorAttr {
  /** Discriminator. */
  kind: "tensor";
  /** The tensor. */
  value: OnnxTensor;
}

/** Attribute values: integers, integer lists, strings, or tagged floats/tensors. */
export type AttrValue = number | number[] | string | FloatAttr | FloatsAttr | TensorAttr;

/** One operator application. */
export interface OnnxNode {
  /** Operator type, e.g. `"MatMul"`. */
  opType: string;
  /** Unique node name (mirrors checkpoint key paths where there is one). */
  name: string;
  /** Input tensor names (`""` for an omitted optional input). */
  inputs: string[];
  /** Output tensor names. */
  outputs: string[];
  /** Attributes by name. */
  attributes: Record<string, AttrValue>;
  /** Operator domain; `""` is the default ONNX domain. */
  domain?: string;
}

/** A graph input or output declaration. A string dimension is symbolic (e.g. `"batch"`). */
export interface OnnxValueInfo {
  /** Tensor name. */
  name: string;
  /** Element type. */
  dtype: OnnxDType;
  /** Shape, or undefined when unknown. */
  shape?: (number | string)[];
}

/** A complete model: one graph plus its opset. */
export interface OnnxModel {
  /** Graph name. */
  name: string;
  /** Nodes in topological order. */
  nodes: OnnxNode[];
  /** Weights. */
  initializers: OnnxTensor[];
  /** Graph inputs. */
  inputs: OnnxValueInfo[];
  /** Graph outputs. */
  outputs: OnnxValueInfo[];
  /** Default-domain opset version (≥ 17). */
  opset: number;
  /**
   * Float16 weights are cast to float32 by Cast nodes at run time; ONNX Runtime's constant folding
   * must then stay off, or it would replace them by float32 copies at session creation.
   */
  keepsFloat16Weights?: boolean;
}

/** The serialized model, with large initializers optionally split off into one external blob. */
export interface SerializedModel {
  /** The `ModelProto` bytes. */
  model: Uint8Array;
  /**
   * External data, when requested: the file name the proto refers to and its contents in order (deferred
   * initializers are loaded one at a time as the blob is written).
   */
  external?: { path: string; chunks: ExternalChunk[]; byteLength: number };
  /** Total initializer bytes (inline and external). */
  weightBytes: number;
  /** See {@link OnnxModel.keepsFloat16Weights}. */
  keepsFloat16Weights?: boolean;
}

/** Options of {@link serializeModel}. */
export interface SerializeOptions {
  /** Move initializers of at least `externalThreshold` bytes into an external blob with this file name. */
  externalDataPath?: string;
  /** Size in bytes from which an initializer goes external (default 1024). */
  externalThreshold?: number;
}

/** Protobuf's hard limit on one message; beyond it weights must go to external data. */
export const PROTOBUF_LIMIT_BYTES: number = 2 ** 31 - 1;

function tensorProto(t: OnnxTensor, external?: { location: string; offset: number }): ProtoWriter {
  if (!external && !(t.data instanceof Uint8Array)) {
    throw new Error(
      `initializer ${t.name} is deferred: serialize with externalDataPath, or load it first (loadDeferredInitializers)`,
    );
  }
  const w = new ProtoWriter();
  w.ints(1, t.dims);
  w.int(2, ONNX_DTYPE_CODE[t.dtype]);
  w.string(8, t.name);
  if (external) {
    const entry = (k: string, v: string) => new ProtoWriter().string(1, k).string(2, v);
    w.message(13, entry("location", external.location));
    w.message(13, entry("offset", String(external.offset)));
    w.message(13, entry("length", String(tensorByteLength(t))));
    w.int(14, 1);
  } else {
    w.bytes(9, t.data as Uint8Array);
  }
  return w;
}

function attributeProto(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === "number") {
    if (!Number.isInteger(value)) {
      throw new Error(`attribute ${name}: ${value} is not an integer; wrap floats as {kind: "float", value}`);
    }
    w.int(3, value).int(20, 2);
  } else if (typeof value === "string") w.string(4, value).int(20, 3);
  else if (Array.isArray(value)) w.ints(8, value).int(20, 7);
  else if (value.kind === "float") w.float(2, value.value).int(20, 1);
  else if (value.kind === "floats") w.floats(7, value.value).int(20, 6);
  else w.message(5, tensorProto(value.value)).int(20, 4);
  return w;
}

function valueInfoProto(v: OnnxValueInfo): ProtoWriter {
  const tensorType = new ProtoWriter().int(1, ONNX_DTYPE_CODE[v.dtype]);
  if (v.shape) {
    const shape = new ProtoWriter();
    for (const d of v.shape) {
      shape.message(1, typeof d === "number" ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
    }
    tensorType.message(2, shape);
  }
  return new ProtoWriter().string(1, v.name).message(2, new ProtoWriter().message(1, tensorType));
}

/**
 * Serializes a model to `ModelProto` bytes (IR version 8).
 *
 * @example
 * ```ts
 * import { serializeModel } from "./onnx_model.ts";
 * const { model } = serializeModel({
 *   name: "identity", opset: 17, initializers: [],
 *   nodes: [{ opType: "Identity", name: "id", inputs: ["x"], outputs: ["y"], attributes: {} }],
 *   inputs: [{ name: "x", dtype: "float32", shape: [2] }],
 *   outputs: [{ name: "y", dtype: "float32", shape: [2] }],
 * });
 * ```
 */
export function serializeModel(m: OnnxModel, options: SerializeOptions = {}): SerializedModel {
  if (m.opset < 17) throw new Error(`opset ${m.opset} is below the supported minimum 17`);
  const graph = new ProtoWriter();
  for (const n of m.nodes) {
    const node = new ProtoWriter();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    node.string(3, n.name).string(4, n.opType);
    for (const [k, v] of Object.entries(n.attributes)) node.message(5, attributeProto(k, v));
    if (n.domain) node.string(7, n.domain);
    graph.message(1, node);
  }
  graph.string(2, m.name);
  const threshold = options.externalThreshold ?? 1024;
  const chunks: ExternalChunk[] = [];
  let offset = 0;
  let weightBytes = 0;
  for (const t of m.initializers) {
    const byteLength = tensorByteLength(t);
    weightBytes += byteLength;
    if (options.externalDataPath && (byteLength >= threshold || !(t.data instanceof Uint8Array))) {
      // Keep each tensor 64-byte aligned in the blob so it can be memory-mapped.
      const pad = (64 - (offset % 64)) % 64;
      if (pad) chunks.push(new Uint8Array(pad));
      offset += pad;
      graph.message(5, tensorProto(t, { location: options.externalDataPath, offset }));
      chunks.push(t.data instanceof Uint8Array ? t.data : { name: t.name, byteLength, load: t.data });
      offset += byteLength;
    } else {
      graph.message(5, tensorProto(t));
    }
  }
  for (const v of m.inputs) graph.message(11, valueInfoProto(v));
  for (const v of m.outputs) graph.message(12, valueInfoProto(v));
  const model = new ProtoWriter()
    .int(1, 8)
    .string(2, "forget")
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, "").int(2, m.opset));
  if (model.byteLength() > PROTOBUF_LIMIT_BYTES) {
    throw new Error(
      `model ${m.name} is ${(model.byteLength() / 2 ** 30).toFixed(2)} GiB, over protobuf's 2 GiB limit; ` +
        "serialize it with externalDataPath",
    );
  }
  return {
    model: model.finish(),
    external: options.externalDataPath
      ? { path: options.externalDataPath, chunks, byteLength: offset }
      : undefined,
    weightBytes,
    keepsFloat16Weights: m.keepsFloat16Weights,
  };
}

/**
 * Writes a serialized model into `dir` as ONNX Runtime reads it from disk: `model.onnx`, and its external
 * data under the file name the proto refers to. Returns the path of `model.onnx`.
 *
 * @example
 * ```ts ignore
 * import { writeModelFiles } from "./onnx_model.ts";
 * const file = await writeModelFiles(await Deno.makeTempDir(), serialized);
 * ```
 */
export async function writeModelFiles(dir: string, model: SerializedModel): Promise<string> {
  const file = `${dir}/model.onnx`;
  await Deno.writeFile(file, model.model);
  if (model.external) {
    const f = await Deno.open(`${dir}/${model.external.path}`, { write: true, create: true });
    try {
      // One deferred initializer at a time is in memory.
      for (const chunk of model.external.chunks) {
        const c = await loadChunk(chunk);
        for (let o = 0; o < c.length;) o += await f.write(c.subarray(o));
      }
    } finally {
      f.close();
    }
  }
  return file;
}
