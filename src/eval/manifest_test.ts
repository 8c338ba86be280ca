import assert from "node:assert/strict";
import { join } from "node:path";
import { readManifest } from "./manifest.ts";

const minimal = {
  model: "model/",
  judge: { onnx: "judge.onnx" },
  concepts: [{
    category: "object",
    concept: "ring",
    head: "object",
    label: 6,
    prompts: ["a ring"],
    seeds: [0],
  }],
};

Deno.test("manifest: paths resolve against its folder; colours and scenes form the vocabulary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "concepts.json");
    await Deno.writeTextFile(path, JSON.stringify({ ...minimal, colors: ["red"], scenes: ["at night"] }));
    const m = await readManifest(path);
    assert.equal(m.model, join(dir, "model"));
    assert.equal(m.judge, join(dir, "judge.onnx"));
    assert.deepEqual(m.vocabulary, ["red", "at night"]);
    await Deno.writeTextFile(path, JSON.stringify(minimal));
    assert.deepEqual((await readManifest(path)).vocabulary, []);
    await Deno.writeTextFile(path, JSON.stringify({ ...minimal, colors: ["red", ""] }));
    await assert.rejects(() => readManifest(path), /"colors" and "scenes" must list non-empty strings/);
    await Deno.writeTextFile(path, JSON.stringify({ ...minimal, concepts: [] }));
    await assert.rejects(() => readManifest(path), /non-empty "concepts" list/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
