/**
 * A cheap content fingerprint of a set of weights: the names, dtypes and shapes of every tensor plus the
 * bytes of the small ones (norms, biases, position embeddings — a few hundred kB for a text encoder).
 * Together with the file's size and modification time it keys models kept on disk: any fine-tune moves
 * those small tensors, and any rewrite of the file changes its time.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { DTYPE_BYTES } from "../formats/dtype.ts";
import type { TensorSource } from "../formats/tensor_source.ts";

/**
 * `sha256:<hex>` over every tensor's name, dtype and shape, and the bytes of tensors up to `maxBytes`.
 *
 * @example
 * ```ts
 * import { memorySource } from "../formats/tensor_source.ts";
 * import { smallTensorFingerprint } from "./weights_fingerprint.ts";
 * const src = memorySource({ b: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
 * (await smallTensorFingerprint(src)).startsWith("sha256:"); // true
 * ```
 */
export function smallTensorFingerprint(source: TensorSource, maxBytes = 1 << 20): Promise<string> {
  // A source is a fixed view of open files: compute once per source and limit, not on every encode call.
  let byLimit = memo.get(source);
  if (!byLimit) memo.set(source, byLimit = new Map());
  let found = byLimit.get(maxBytes);
  if (!found) {
    byLimit.set(maxBytes, found = compute(source, maxBytes));
    found.catch(() => byLimit!.delete(maxBytes));
  }
  return found;
}

const memo = new WeakMap<TensorSource, Map<number, Promise<string>>>();

async function compute(source: TensorSource, maxBytes: number): Promise<string> {
  const h = createHash("sha256");
  for (const name of [...source.names()].sort()) {
    const info = source.info(name);
    h.update(`${name}:${info.dtype}:${info.shape.join("x")}\n`);
    const bytes = info.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[info.dtype];
    if (bytes <= maxBytes) h.update((await source.readRaw(name)).bytes);
  }
  return `sha256:${h.digest("hex")}`;
}
