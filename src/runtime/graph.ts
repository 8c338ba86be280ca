/**
 * A small typed builder for ONNX graphs: declare inputs, bind weights as initializers, apply
 * operators, and expose any intermediate tensor as an extra output by name.
 *
 * Node names are given by the caller so that they can mirror checkpoint key paths (e.g.
 * `text_model.encoder.layers.3.self_attn.q_proj`); repeated names get a numeric suffix.
 *
 * @module
 */

import { toFloat32 } from "../formats/dtype.ts";
import type { RawTensor, TensorMeta } from "../formats/tensor_source.ts";
import type {
  AttrValue,
  DeferredBytes,
  OnnxDType,
  OnnxModel,
  OnnxNode,
  OnnxTensor,
  OnnxValueInfo,
} from "./onnx_model.ts";

/** Typed arrays accepted as initializer data. */
export type TensorArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array | Uint8Array;

function dtypeOf(data: TensorArray): OnnxDType {
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof BigInt64Array) return "int64";
  if (data instanceof Uint16Array) return "float16";
  return "uint8";
}

/**
 * Makes a constant tensor from a typed array (a `Uint16Array` is taken as float16 bits unless
 * `dtype` says bfloat16).
 *
 * @example
 * ```ts
 * import { tensor } from "./graph.ts";
 * const t = tensor("w", new Float32Array([1, 2, 3, 4]), [2, 2]);
 * ```
 */
export function tensor(name: string, data: TensorArray, dims: number[], dtype?: OnnxDType): OnnxTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (data.length !== count) {
    throw new Error(`tensor ${name}: ${data.length} elements do not fill shape [${dims.join(", ")}]`);
  }
  return {
    name,
    dtype: dtype ?? dtypeOf(data),
    dims: [...dims],
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function float16Bits(raw: RawTensor): Uint16Array {
  return raw.bytes.byteOffset % 2 === 0
    ? new Uint16Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 2)
    : new Uint16Array(raw.bytes.slice().buffer);
}

/** Reads a tensor and checks it is what `meta` declared when the graph was built. */
async function readAsDeclared(
  name: string,
  meta: TensorMeta,
  read: () => Promise<RawTensor>,
): Promise<RawTensor> {
  const raw = await read();
  if (raw.dtype !== meta.dtype || raw.shape.join(",") !== meta.shape.join(",")) {
    throw new Error(
      `weight ${name}: read ${raw.dtype} [${raw.shape}], expected ${meta.dtype} [${meta.shape}] (file changed?)`,
    );
  }
  return raw;
}

function float32Values(raw: RawTensor): Float32Array {
  return raw.dtype === "F32" && raw.bytes.byteOffset % 4 === 0
    ? new Float32Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 4)
    : toFloat32(raw.dtype, raw.bytes);
}

/** Float attribute helper: `{ epsilon: float(1e-5) }`. */
export function float(value: number): AttrValue {
  return { kind: "float", value };
}

/**
 * Builds one ONNX graph.
 *
 * @example
 * ```ts
 * import { GraphBuilder } from "./graph.ts";
 * const g = new GraphBuilder("matmul");
 * const a = g.input("a", "float32", ["m", 4]);
 * const b = g.weight("b", new Float32Array(8).fill(1), [4, 2]);
 * g.output(g.op("MatMul", [a, b], {}, "mm"), "float32");
 * const model = g.build();
 * ```
 */
export class GraphBuilder {
  /** Graph name. */
  readonly name: string;
  /** Nodes added so far, in order. */
  readonly nodes: OnnxNode[] = [];
  /** Initializers added so far. */
  readonly initializers: OnnxTensor[] = [];
  /** Declared inputs. */
  readonly inputs: OnnxValueInfo[] = [];
  /** Declared outputs. */
  readonly outputs: OnnxValueInfo[] = [];
  /** Whether some weights are stored as float16 and cast to float32 at run time. */
  keepsFloat16Weights = false;
  #used = new Set<string>();
  #constants = new Map<string, string>();

  /** Creates an empty graph called `name`. */
  constructor(name: string) {
    this.name = name;
  }

  #unique(name: string): string {
    if (!this.#used.has(name)) {
      this.#used.add(name);
      return name;
    }
    for (let i = 1;; i++) {
      const candidate = `${name}_${i}`;
      if (!this.#used.has(candidate)) {
        this.#used.add(candidate);
        return candidate;
      }
    }
  }

  /** Declares a graph input and returns its tensor name. */
  input(name: string, dtype: OnnxDType, shape: (number | string)[]): string {
    const n = this.#unique(name);
    this.inputs.push({ name: n, dtype, shape });
    return n;
  }

  /** Adds an initializer (a weight) and returns its tensor name. */
  weight(name: string, data: TensorArray, dims: number[], dtype?: OnnxDType): string {
    const t = tensor(this.#unique(name), data, dims, dtype);
    this.initializers.push(t);
    return t.name;
  }

  /**
   * Adds an initializer whose bytes are produced only when the model is written (see
   * {@link DeferredBytes}); the model must then be serialized with external data. Returns its name.
   *
   * @example
   * ```ts
   * import { GraphBuilder } from "./graph.ts";
   * const g = new GraphBuilder("lazy");
   * g.deferredWeight("w", [2], "float32", () => Promise.resolve(new Uint8Array(new Float32Array([1, 2]).buffer)));
   * ```
   */
  deferredWeight(name: string, dims: number[], dtype: OnnxDType, load: DeferredBytes): string {
    const t: OnnxTensor = { name: this.#unique(name), dtype, dims: [...dims], data: load };
    this.initializers.push(t);
    return t.name;
  }

  /**
   * Binds a checkpoint tensor for float32 compute. `"float32"` converts it to a float32 initializer;
   * `"stored"` keeps float16 tensors as float16 initializers (half the memory) followed by a Cast
   * node, and converts any other dtype to float32. Returns the float32 tensor's name (the
   * initializer's own name is `name`).
   *
   * @example
   * ```ts
   * import { GraphBuilder } from "./graph.ts";
   * const g = new GraphBuilder("half");
   * const half = new Uint16Array([0x3c00, 0xc000]); // 1, -2
   * g.float32Weight("w", { dtype: "F16", shape: [2], bytes: new Uint8Array(half.buffer) }, "stored"); // "w.float32"
   * ```
   */
  float32Weight(name: string, raw: RawTensor, keep: "float32" | "stored" = "float32"): string {
    const half = keep === "stored" && raw.dtype === "F16";
    const dtype = half ? "float16" : "float32";
    const stored = this.weight(name, half ? float16Bits(raw) : float32Values(raw), raw.shape, dtype);
    return half ? this.#castToFloat32(stored, name) : stored;
  }

  /**
   * {@link float32Weight} for a checkpoint tensor read only when the model is written: `meta` gives its
   * dtype and shape now, `read` its bytes then (checked against `meta`).
   *
   * @example
   * ```ts
   * import { GraphBuilder } from "./graph.ts";
   * const g = new GraphBuilder("lazy");
   * const raw = { dtype: "F32" as const, shape: [2], bytes: new Uint8Array(new Float32Array([1, 2]).buffer) };
   * g.deferredFloat32Weight("w", raw, () => Promise.resolve(raw));
   * ```
   */
  deferredFloat32Weight(
    name: string,
    meta: TensorMeta,
    read: () => Promise<RawTensor>,
    keep: "float32" | "stored" = "float32",
  ): string {
    const half = keep === "stored" && meta.dtype === "F16";
    const stored = this.deferredWeight(name, meta.shape, half ? "float16" : "float32", async () => {
      const raw = await readAsDeclared(name, meta, read);
      const v = half ? float16Bits(raw) : float32Values(raw);
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    });
    return half ? this.#castToFloat32(stored, name) : stored;
  }

  /**
   * A float16 checkpoint tensor as a float16 initializer with no Cast, for a caller that casts only what it
   * uses (e.g. the rows an embedding lookup gathers); read now, or with `defer` when the model is written
   * (checked against `meta` then). Returns its name.
   *
   * @example
   * ```ts
   * import { GraphBuilder } from "./graph.ts";
   * const g = new GraphBuilder("table");
   * const raw = { dtype: "F16" as const, shape: [2], bytes: new Uint8Array(new Uint16Array([0x3c00, 0x4000]).buffer) };
   * await g.float16Weight("table", raw, () => Promise.resolve(raw)); // "table"
   * ```
   */
  async float16Weight(
    name: string,
    meta: TensorMeta,
    read: () => Promise<RawTensor>,
    defer = false,
  ): Promise<string> {
    if (meta.dtype !== "F16") {
      throw new Error(`weight ${name}: float16Weight needs an F16 tensor, got ${meta.dtype}`);
    }
    this.keepsFloat16Weights = true;
    if (!defer) {
      return this.weight(name, float16Bits(await readAsDeclared(name, meta, read)), meta.shape, "float16");
    }
    return this.deferredWeight(name, meta.shape, "float16", async () => {
      const v = float16Bits(await readAsDeclared(name, meta, read));
      return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    });
  }

  #castToFloat32(stored: string, name: string): string {
    this.keepsFloat16Weights = true;
    return this.op("Cast", [stored], { to: 1 }, `${name}.float32`);
  }

  /** A small shared constant (shapes, axes, scalars), deduplicated by value. */
  constant(data: Float32Array | BigInt64Array | Int32Array, dims: number[] = [data.length]): string {
    const key = `${dtypeOf(data)}[${dims}]:${Array.from(data as ArrayLike<number | bigint>).join(",")}`;
    const found = this.#constants.get(key);
    if (found) return found;
    const name = this.weight(`const_${this.#constants.size}`, data, dims);
    this.#constants.set(key, name);
    return name;
  }

  /** An int64 vector constant (for Reshape shapes, Slice starts, Unsqueeze axes, …). */
  int64s(values: number[]): string {
    return this.constant(BigInt64Array.from(values.map(BigInt)));
  }

  /** A float32 scalar constant. */
  scalar(value: number): string {
    return this.constant(new Float32Array([value]), []);
  }

  /**
   * Applies an operator with one output; returns the output's tensor name, which is the node name
   * (so intermediate tensors are addressable by checkpoint-like paths).
   */
  op(opType: string, inputs: string[], attributes: Record<string, AttrValue> = {}, name?: string): string {
    return this.opN(opType, inputs, 1, attributes, name)[0];
  }

  /** Applies an operator with `outputCount` outputs; returns their tensor names. */
  opN(
    opType: string,
    inputs: string[],
    outputCount: number,
    attributes: Record<string, AttrValue> = {},
    name?: string,
  ): string[] {
    const nodeName = this.#unique(name ?? `${opType}_${this.nodes.length}`);
    const outputs = outputCount === 1
      ? [nodeName]
      : Array.from({ length: outputCount }, (_, i) => this.#unique(`${nodeName}:${i}`));
    this.nodes.push({ opType, name: nodeName, inputs, outputs, attributes });
    return outputs;
  }

  /**
   * Exposes a tensor as a graph output. With `as`, an Identity node renames it first, so the same
   * tensor can be both an intermediate and a named output.
   */
  output(value: string, dtype: OnnxDType, shape?: (number | string)[], as?: string): string {
    let name = value;
    if (as !== undefined && as !== value) {
      if (this.#used.has(as)) throw new Error(`output name ${as} is already used in graph ${this.name}`);
      this.#used.add(as);
      this.nodes.push({ opType: "Identity", name: as, inputs: [value], outputs: [as], attributes: {} });
      name = as;
    }
    this.outputs.push({ name, dtype, shape });
    return name;
  }

  /** Whether a tensor of this name exists in the graph (input, initializer or node output). */
  has(name: string): boolean {
    return this.#used.has(name);
  }

  /** Finishes the graph as an {@link OnnxModel}. */
  build(opset = 17): OnnxModel {
    if (this.outputs.length === 0) throw new Error(`graph ${this.name} has no outputs`);
    return {
      name: this.name,
      nodes: this.nodes,
      initializers: this.initializers,
      inputs: this.inputs,
      outputs: this.outputs,
      opset,
      keepsFloat16Weights: this.keepsFloat16Weights,
    };
  }
}
