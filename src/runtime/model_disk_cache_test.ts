import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { GraphBuilder } from "./graph.ts";
import { findStoredModel, storeModel } from "./model_disk_cache.ts";
import { serializeModel } from "./onnx_model.ts";
import { createStoredSession } from "./session.ts";
import { cachedSession, releaseSessions } from "./session_cache.ts";

function scale(k: number, external: boolean) {
  const g = new GraphBuilder("scale");
  const w = g.weight("w", new Float32Array(300).fill(k), [300]);
  g.output(g.op("Mul", [g.input("x", "float32", [300]), w], {}, "y"), "float32", [300]);
  return serializeModel(
    g.build(),
    external ? { externalDataPath: "weights.bin", externalThreshold: 16 } : {},
  );
}

for (const external of [false, true]) {
  Deno.test(`model disk cache: store, find, run from disk (external data: ${external})`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const cache = { dir };
      assert.equal(await findStoredModel(cache, "k1"), null);
      await storeModel(cache, "k1", scale(3, external));
      const hit = await findStoredModel(cache, "k1");
      assert.ok(hit);
      assert.equal(!!hit.external, external);
      for (const backend of ["ort-web", "ort-node"] as const) {
        const s = await createStoredSession(hit, { backend });
        const { y } = await s.run({
          x: { dtype: "float32", dims: [300], data: new Float32Array(300).fill(2) },
        });
        assert.equal((y.data as Float32Array)[299], 6);
        await s.release();
      }
      // Another key (hash collision aside) is a miss.
      assert.equal(await findStoredModel(cache, "k2"), null);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("model disk cache: the least recently used models beyond the limit are removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const cache = { dir, maxModels: 2 };
    await storeModel(cache, "a", scale(1, false));
    await new Promise((r) => setTimeout(r, 20));
    await storeModel(cache, "b", scale(2, false));
    await new Promise((r) => setTimeout(r, 20));
    await findStoredModel(cache, "a"); // a is now the most recently used
    await new Promise((r) => setTimeout(r, 20));
    await storeModel(cache, "c", scale(3, false));
    assert.ok(await findStoredModel(cache, "a"));
    assert.equal(await findStoredModel(cache, "b"), null);
    assert.ok(await findStoredModel(cache, "c"));
    assert.equal((await readdir(join(dir, "onnx"))).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("session cache with persist: a second process-level build is skipped (model read from disk)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let builds = 0;
    const build = () => (builds++, scale(5, false));
    const persist = { cache: { dir }, key: "persist-test" };
    const first = await cachedSession("test-persist:a", "ort-web", build, { persist });
    assert.equal(first.timing.fromDisk, false);
    await releaseSessions("test-persist:");
    // As a new process would: nothing in memory, the model on disk.
    const second = await cachedSession("test-persist:a", "ort-web", build, { persist, prepack: false });
    assert.equal(second.timing.fromDisk, true);
    assert.equal(builds, 1);
    const { y } = await second.session.run({
      x: { dtype: "float32", dims: [300], data: new Float32Array(300).fill(1) },
    });
    assert.equal((y.data as Float32Array)[0], 5);
    await releaseSessions("test-persist:");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
