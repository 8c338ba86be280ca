import { deepStrictEqual, ok, rejects } from "node:assert/strict";
import { serializeModel } from "../runtime/onnx_model.ts";
import { createSession } from "../runtime/session.ts";
import { clipL14 } from "./clip_config.ts";
import { syntheticClipText } from "./clip_synthetic.ts";
import { buildClipTextGraph } from "./clip_text_graph.ts";

const tiny = {
  ...clipL14(),
  vocabSize: 300,
  hiddenSize: 24,
  intermediateSize: 48,
  numLayers: 2,
  numHeads: 3,
};

Deno.test("clip graph: node names mirror checkpoint paths; attention probabilities can be exposed", async () => {
  const probs = "text_model.encoder.layers.1.self_attn.probs";
  const model = await buildClipTextGraph(syntheticClipText(tiny, 9), tiny, { expose: [probs] });
  const names = new Set(model.nodes.map((n) => n.name));
  for (
    const path of ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.1.mlp.fc2"]
  ) {
    ok(names.has(path), `node ${path}`);
  }
  ok(model.initializers.some((t) => t.name === "text_model.encoder.layers.1.mlp.fc1.weight"));
  const session = await createSession(serializeModel(model));
  try {
    const ids = new Int32Array(2 * 77).map((_, i) => (i * 37) % 300);
    const out = await session.run({ input_ids: { dtype: "int32", dims: [2, 77], data: ids } });
    deepStrictEqual(out[probs].dims, [2, 3, 77, 77]);
    const p = out[probs].data as Float32Array;
    for (let row = 0; row < 2 * 3 * 77; row++) {
      const i = row % 77;
      const r = p.subarray(row * 77, (row + 1) * 77);
      ok(Math.abs(r.reduce((a, b) => a + b, 0) - 1) < 1e-5, "each row is a distribution");
      ok(r.subarray(i + 1).every((v) => v === 0), "no attention to later tokens");
    }
  } finally {
    await session.release();
  }
});

Deno.test("clip graph: bad requests are refused clearly", async () => {
  const src = syntheticClipText(tiny, 9);
  await rejects(buildClipTextGraph(src, tiny, { expose: ["nope"] }), /no tensor named "nope"/);
  await rejects(buildClipTextGraph(src, tiny, { layers: 3 }), /cannot run 3 layers of 2/);
  await rejects(
    buildClipTextGraph(src, tiny, { layers: 1, pooled: true }),
    /pooled output needs all 2 layers/,
  );
  await rejects(buildClipTextGraph(src, { ...tiny, numHeads: 5 }), /not divisible by 5 heads/);
});
