/**
 * A `TensorSource` whose tensors are views of another source's tensors under new names: renamed, a
 * block of rows (OpenCLIP's fused q/k/v `in_proj_weight`), transposed (OpenCLIP's `text_projection`),
 * or reshaped (the VAE's 1×1 convolutions that diffusers stores as linear layers).
 *
 * @module
 */
import { DTYPE_BYTES, numel, toFloat32 } from "./dtype.ts";
import { MissingTensorError, type RawTensor, type TensorMeta, type TensorSource } from "./tensor_source.ts";

/** How a view is derived from its source tensor. */
export type ViewOp =
  | { kind: "same" }
  | { kind: "rows"; start: number; count: number }
  | { kind: "transpose" }
  | { kind: "reshape"; shape: number[] };

/** One derived tensor: the name in the source, and how to derive it. */
export interface TensorView {
  /** Name of the tensor in the underlying source. */
  from: string;
  /** The derivation. */
  op: ViewOp;
}

function viewMeta(src: TensorMeta, op: ViewOp): TensorMeta {
  switch (op.kind) {
    case "same":
      return { dtype: src.dtype, shape: [...src.shape] };
    case "rows":
      return { dtype: src.dtype, shape: [op.count, ...src.shape.slice(1)] };
    case "transpose":
      return { dtype: src.dtype, shape: [src.shape[1], src.shape[0]] };
    case "reshape":
      return { dtype: src.dtype, shape: [...op.shape] };
  }
}

function viewBytes(raw: RawTensor, op: ViewOp): Uint8Array {
  const es = DTYPE_BYTES[raw.dtype];
  switch (op.kind) {
    case "same":
    case "reshape":
      return raw.bytes;
    case "rows": {
      const row = numel(raw.shape.slice(1)) * es;
      return raw.bytes.slice(op.start * row, (op.start + op.count) * row);
    }
    case "transpose": {
      const [r, c] = raw.shape;
      const out = new Uint8Array(raw.bytes.byteLength);
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < c; j++) {
          out.set(raw.bytes.subarray((i * c + j) * es, (i * c + j + 1) * es), (j * r + i) * es);
        }
      }
      return out;
    }
  }
}

/**
 * Presents `views` (new name → derivation) over `src` as a `TensorSource`. Shapes are checked lazily:
 * a row block past the end or a reshape that changes the element count throws an error naming both tensors.
 *
 * @example
 * ```ts
 * import { memorySource } from "./tensor_source.ts";
 * import { viewSource } from "./view_source.ts";
 * const src = memorySource({ qkv: { dtype: "F32", shape: [6, 1], data: new Float32Array([1, 2, 3, 4, 5, 6]) } });
 * const v = viewSource(src, new Map([["k", { from: "qkv", op: { kind: "rows", start: 2, count: 2 } }]]), "demo");
 * await v.readFloat32("k"); // Float32Array [3, 4]
 * ```
 */
export function viewSource(src: TensorSource, views: Map<string, TensorView>, label: string): TensorSource {
  const get = (name: string): TensorView => {
    const v = views.get(name);
    if (!v) throw new MissingTensorError(name, label);
    return v;
  };
  const meta = (name: string): TensorMeta => {
    const v = get(name);
    const m = src.info(v.from);
    const out = viewMeta(m, v.op);
    const bad = (v.op.kind === "rows" && (m.shape.length < 1 || v.op.start + v.op.count > m.shape[0])) ||
      (v.op.kind === "transpose" && m.shape.length !== 2) ||
      (v.op.kind === "reshape" && numel(v.op.shape) !== numel(m.shape));
    if (bad) {
      throw new Error(
        `${label}: tensor "${v.from}" has shape ${
          JSON.stringify(m.shape)
        }, which cannot give "${name}" (${v.op.kind})`,
      );
    }
    return out;
  };
  const readRaw = async (name: string): Promise<RawTensor> => {
    const m = meta(name);
    const raw = await src.readRaw(get(name).from);
    return { ...m, bytes: viewBytes(raw, get(name).op) };
  };
  return {
    names: () => [...views.keys()],
    has: (name) => views.has(name),
    info: meta,
    readRaw,
    readFloat32: async (name) => {
      const v = get(name);
      if (v.op.kind === "same" || v.op.kind === "reshape") return src.readFloat32(v.from);
      const raw = await readRaw(name);
      return toFloat32(raw.dtype, raw.bytes);
    },
  };
}
