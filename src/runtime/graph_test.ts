import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { fromFloat32, toFloat32 } from "../formats/dtype.ts";
import type { RawTensor } from "../formats/tensor_source.ts";
import { float, GraphBuilder } from "./graph.ts";
import { loadDeferredInitializers, serializeModel, writeModelFiles } from "./onnx_model.ts";
import { createSession } from "./session.ts";

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** y = LayerNorm(x·Wᵀ + b), with the pre-norm product also exposed under another name. */
function buildLinearNorm(inDim: number, outDim: number, w: Float32Array, b: Float32Array) {
  const g = new GraphBuilder("linear_norm");
  const x = g.input("x", "float32", ["n", inDim]);
  const lin = g.op("Gemm", [
    x,
    g.weight("proj.weight", w, [outDim, inDim]),
    g.weight("proj.bias", b, [outDim]),
  ], {
    transB: 1,
  }, "proj");
  const ones = g.constant(new Float32Array(outDim).fill(1));
  const zeros = g.constant(new Float32Array(outDim));
  const y = g.op("LayerNormalization", [lin, ones, zeros], { axis: -1, epsilon: float(1e-5) }, "norm");
  g.output(y, "float32", ["n", outDim], "y");
  g.output(lin, "float32", ["n", outDim]); // the intermediate, by its node name
  return g.build();
}

/**
 * The same model with deferred weights: `w` float32, `b` a float16 checkpoint tensor kept as float16 (a Cast
 * node). `reads` counts the reads of each.
 */
function buildDeferredLinearNorm(
  inDim: number,
  outDim: number,
  w: Float32Array,
  b16: Uint8Array,
  reads: Map<string, number>,
) {
  const g = new GraphBuilder("deferred_linear_norm");
  const read = (key: string, t: RawTensor) => () => {
    reads.set(key, (reads.get(key) ?? 0) + 1);
    return Promise.resolve(t);
  };
  const wRaw: RawTensor = { dtype: "F32", shape: [outDim, inDim], bytes: new Uint8Array(w.buffer) };
  const bRaw: RawTensor = { dtype: "F16", shape: [outDim], bytes: b16 };
  const x = g.input("x", "float32", ["n", inDim]);
  const lin = g.op(
    "Gemm",
    [
      x,
      g.deferredFloat32Weight("proj.weight", wRaw, read("w", wRaw)),
      g.deferredFloat32Weight("proj.bias", bRaw, read("b", bRaw), "stored"),
    ],
    { transB: 1 },
    "proj",
  );
  const ones = g.constant(new Float32Array(outDim).fill(1));
  const zeros = g.constant(new Float32Array(outDim));
  const y = g.op("LayerNormalization", [lin, ones, zeros], { axis: -1, epsilon: float(1e-5) }, "norm");
  g.output(y, "float32", ["n", outDim], "y");
  return g.build();
}

function reference(
  x: Float32Array,
  n: number,
  inDim: number,
  outDim: number,
  w: Float32Array,
  b: Float32Array,
) {
  const lin = new Float64Array(n * outDim);
  const y = new Float32Array(n * outDim);
  for (let r = 0; r < n; r++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o];
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[o * inDim + i];
      lin[r * outDim + o] = s;
    }
    const row = lin.subarray(r * outDim, (r + 1) * outDim);
    const mean = row.reduce((a, v) => a + v, 0) / outDim;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / outDim;
    row.forEach((v, o) => y[r * outDim + o] = (v - mean) / Math.sqrt(variance + 1e-5));
  }
  return { lin: Float32Array.from(lin), y };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ["ort-web", "ort-node"] as const) {
  Deno.test(`graph: built model runs on ${backend}, exposes intermediates, matches a JS reference`, async () => {
    const [n, inDim, outDim] = [5, 13, 7];
    const w = random(outDim * inDim, 1);
    const b = random(outDim, 2);
    const x = random(n * inDim, 3);
    const session = await createSession(serializeModel(buildLinearNorm(inDim, outDim, w, b)), { backend });
    try {
      deepStrictEqual([...session.outputNames].sort(), ["proj", "y"]);
      const out = await session.run({ x: { dtype: "float32", dims: [n, inDim], data: x } });
      const ref = reference(x, n, inDim, outDim, w, b);
      deepStrictEqual(out.y.dims, [n, outDim]);
      ok(maxDiff(out.y.data as Float32Array, ref.y) < 1e-5);
      ok(maxDiff(out.proj.data as Float32Array, ref.lin) < 1e-5);
      ok(session.createMs >= 0);
    } finally {
      await session.release();
    }
  });

  Deno.test(`graph: weights in ONNX external data load on ${backend}`, async () => {
    const [n, inDim, outDim] = [3, 40, 30];
    const w = random(outDim * inDim, 4);
    const b = random(outDim, 5);
    const x = random(n * inDim, 6);
    const serialized = serializeModel(buildLinearNorm(inDim, outDim, w, b), {
      externalDataPath: "weights.bin",
      externalThreshold: 16,
    });
    ok(serialized.external && serialized.external.byteLength >= w.byteLength + b.byteLength);
    ok(serialized.model.length < w.byteLength); // the weights are not inline
    const session = await createSession(serialized, { backend });
    try {
      const out = await session.run({ x: { dtype: "float32", dims: [n, inDim], data: x } });
      ok(maxDiff(out.y.data as Float32Array, reference(x, n, inDim, outDim, w, b).y) < 1e-5);
    } finally {
      await session.release();
    }
  });
}

Deno.test("graph: deferred weights are read once, when the model is written, and run like eager ones", async () => {
  const [n, inDim, outDim] = [4, 37, 23];
  const w = random(outDim * inDim, 7);
  const b16 = fromFloat32("F16", random(outDim, 8));
  const x = random(n * inDim, 9);
  const reads = new Map<string, number>();
  const model = buildDeferredLinearNorm(inDim, outDim, w, b16, reads);
  deepStrictEqual(reads.size, 0); // building reads nothing
  ok(model.keepsFloat16Weights);
  throws(() => serializeModel(model), /initializer proj.weight is deferred: serialize with externalDataPath/);
  const serialized = serializeModel(model, { externalDataPath: "weights.bin" });
  deepStrictEqual(serialized.weightBytes, w.byteLength + b16.byteLength + 2 * 4 * outDim);
  deepStrictEqual(reads.size, 0); // serializing the proto reads nothing either
  const dir = await Deno.makeTempDir();
  try {
    await writeModelFiles(dir, serialized);
    deepStrictEqual(Object.fromEntries(reads), { w: 1, b: 1 });
    deepStrictEqual((await Deno.stat(`${dir}/weights.bin`)).size, serialized.external!.byteLength);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const expected = reference(x, n, inDim, outDim, w, toFloat32("F16", b16)).y;
  for (const backend of ["ort-web", "ort-node"] as const) {
    for (const m of [serialized, serializeModel(await loadDeferredInitializers(model))]) {
      const session = await createSession(m, { backend });
      try {
        const out = await session.run({ x: { dtype: "float32", dims: [n, inDim], data: x } });
        ok(maxDiff(out.y.data as Float32Array, expected) < 1e-5, backend);
      } finally {
        await session.release();
      }
    }
  }
});

Deno.test("graph: a deferred weight whose read disagrees with its declared dtype or shape is refused by name", async () => {
  const g = new GraphBuilder("changed");
  const declared: RawTensor = { dtype: "F32", shape: [2, 3], bytes: new Uint8Array(24) };
  const changed: RawTensor = { dtype: "F32", shape: [3, 2], bytes: new Uint8Array(24) };
  g.output(g.deferredFloat32Weight("layer.weight", declared, () => Promise.resolve(changed)), "float32");
  await rejects(
    loadDeferredInitializers(g.build()),
    /weight layer.weight: read F32 \[3,2\], expected F32 \[2,3\] \(file changed\?\)/,
  );
  // A float16 table read at write time is checked the same way (a BF16 file has the same byte length).
  const half: RawTensor = {
    dtype: "F16",
    shape: [2],
    bytes: new Uint8Array(new Uint16Array([0x3c00, 0x4000]).buffer),
  };
  const t = new GraphBuilder("table");
  t.output(
    await t.float16Weight("table", half, () => Promise.resolve({ ...half, dtype: "BF16" }), true),
    "float16",
  );
  await rejects(loadDeferredInitializers(t.build()), /weight table: read BF16 \[2\], expected F16 \[2\]/);
  // Read now or deferred, the table holds the same float16 bits and marks the model as keeping float16.
  for (const defer of [false, true]) {
    const f = new GraphBuilder("table");
    f.output(await f.float16Weight("table", half, () => Promise.resolve(half), defer), "float16");
    const [init] = (await loadDeferredInitializers(f.build())).initializers;
    deepStrictEqual([init.dtype, Array.from(new Uint16Array((init.data as Uint8Array).slice().buffer))], [
      "float16",
      [0x3c00, 0x4000],
    ]);
    ok(f.keepsFloat16Weights);
  }
  await rejects(
    new GraphBuilder("x").float16Weight("w", { dtype: "F32", shape: [1] }, () => Promise.reject()),
    /weight w: float16Weight needs an F16 tensor, got F32/,
  );
  const short = new GraphBuilder("short");
  short.output(
    short.deferredWeight("v", [4], "float32", () => Promise.resolve(new Uint8Array(8))),
    "float32",
  );
  await rejects(
    loadDeferredInitializers(short.build()),
    /initializer v: produced 8 bytes, its shape needs 16/,
  );
});

Deno.test("graph: names stay unique, bad input is refused clearly", () => {
  const g = new GraphBuilder("names");
  const x = g.input("x", "float32", [2]);
  const a = g.op("Neg", [x], {}, "layer");
  const b = g.op("Neg", [a], {}, "layer");
  deepStrictEqual([a, b], ["layer", "layer_1"]);
  deepStrictEqual(g.int64s([1, 2]), g.int64s([1, 2])); // constants are shared
  throws(() => g.output(b, "float32", [2], "layer"), /already used/);
  throws(() => g.weight("w", new Float32Array(3), [2, 2]), /3 elements do not fill shape \[2, 2\]/);
  throws(() => new GraphBuilder("empty").build(), /has no outputs/);
  g.output(b, "float32", [2]);
  throws(() => serializeModel({ ...g.build(), opset: 13 }), /opset 13 is below/);
  const bad = new GraphBuilder("attr");
  bad.output(bad.op("Softmax", [bad.input("x", "float32", [2])], { axis: 0.5 }), "float32");
  throws(() => serializeModel(bad.build()), /axis: 0.5 is not an integer/);
});

Deno.test("session: a model too large for WASM names the native backend", async () => {
  const huge = { model: new Uint8Array(0), weightBytes: 3 * 2 ** 30 };
  await rejects(
    createSession(huge, { backend: "ort-web" }),
    /4 GiB memory; use the native backend: --backend ort-node/,
  );
});
