import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSyntheticCheckpoint } from "../../formats/synth.ts";
import { loadModel } from "../../api/model.ts";
import { applyEdit } from "../../patch/merge.ts";

Deno.test("FMN end to end (tiny sd15): templates, key and query preservation, patch = trained weights, mass falls", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forget-fmn-test-" });
  try {
    const path = join(dir, "m.safetensors");
    await writeSyntheticCheckpoint(path, { family: "sd15", dtype: "F32", seed: 9 });
    const model = await loadModel(path, { backend: "cpu,ort-node", cacheDir: null, warn: () => {} });
    const run = (preserve: string[]) =>
      model.forget("zebra", {
        method: "fmn",
        lr: 3e-2,
        steps: 6,
        eos: "first",
        imageCount: 1,
        tolerance: 1e-6,
        templates: ["a photo of {}", "{} on grass"],
        preserve,
      }).run();
    const free = await run([]);
    const kept = await run(["a horse", "a cat"]);
    const r = kept.fmnReport!;
    assert.equal(r.losses.length, 6);
    assert.ok(r.massReduction.zebra > 0, `mass reduction ${r.massReduction.zebra}`);
    assert.equal(free.fmnReport!.preservedKeyDrift, undefined);
    assert.ok(r.preservedKeyDrift! < 0.05, `preserved keys moved ${r.preservedKeyDrift}`);
    // Queries are preserved too (by default), and the report says so.
    assert.equal(r.settings.preserveQueries, true);
    assert.ok(r.timings["query-preservation"] >= 0);
    assert.equal(free.fmnReport!.timings["query-preservation"], undefined);
    // Only to_q / to_k change; the patch reproduces the trained weights within the export tolerance.
    assert.ok(kept.edit.deltas.every((d) => /\.to_[qk]$/.test(d.module)));
    assert.ok(kept.edit.deltas.every((d) => d.relativeError <= 1e-6));
    const merged = await applyEdit(model.checkpoint.unet, kept.edit);
    assert.ok(merged.size > 0);
    assert.throws(
      () => model.forget("zebra", { method: "fmn", templates: ["no placeholder"] }),
      /template must contain \{\}/,
    );
    model.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
