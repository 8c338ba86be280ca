import { deepStrictEqual, ok, rejects, throws } from "node:assert/strict";
import { float, GraphBuilder } from "./graph.ts";
import { serializeModel } from "./onnx_model.ts";
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
