import assert from "node:assert/strict";
import { join } from "node:path";
import { writeSyntheticCheckpoint } from "../formats/synth.ts";
import { loadCheckpoint } from "../formats/checkpoint.ts";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { FAMILIES } from "../models/config.ts";
import { readLoraPatch } from "../patch/lora_file.ts";
import { applyEdit } from "../patch/merge.ts";
import { loadModel } from "./model.ts";
import { resolveFmnSettings, resolveSettings } from "./plan.ts";

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "forget-plan-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const BACKEND = "cpu,ort-node";

for (const family of FAMILIES) {
  Deno.test(`plan ${family}: last-token UCE puts erased keys on their targets, preserved keys stay`, async () => {
    await withTemp(async (dir) => {
      const path = join(dir, "m.safetensors");
      await writeSyntheticCheckpoint(path, { family, dtype: "F32", seed: 5 });
      const model = await loadModel(path, { backend: BACKEND, cacheDir: null });
      const result = await model.forget("zebra", { method: "uce", convention: "last-token", lambda: 1e-4 })
        .run();
      const layers = result.reports[0].layers;
      assert.equal(layers.length, model.checkpoint.crossAttention.length * 2);
      for (const l of layers) {
        assert.ok(l.erased < 1e-3, `${l.module} erased residual ${l.erased}`);
        assert.ok(l.preserved < 1e-3, `${l.module} preserved residual ${l.preserved}`);
      }
      assert.equal(result.reports[0].rank, 1);
      model.close();
    });
  });
}

Deno.test("plan sd15: RECE patch = merged checkpoint, deterministic, adversarial embeddings kept", async () => {
  await withTemp(async (dir) => {
    const path = join(dir, "m.safetensors");
    await writeSyntheticCheckpoint(path, { family: "sd15", dtype: "F32", seed: 6 });
    const model = await loadModel(path, { backend: BACKEND, cacheDir: null });
    const plan = model.forget("nudity", { epochs: 2 });
    assert.equal(plan.steps[0].settings.receLambda, 0.1); // nudity defaults
    const r1 = await plan.savePatch(join(dir, "p1.safetensors"));
    await plan.saveMerged(join(dir, "merged.safetensors"));
    assert.equal(r1.adversarial.length, 2);
    assert.equal(r1.adversarial[0].embeddings.rows, 77);
    // Erasing moved the erased keys towards the guide: residual below the untouched model's gap.
    const r2 = await model.forget("nudity", { epochs: 2 }).savePatch(join(dir, "p2.safetensors"));
    const a = await SafetensorsFile.open(join(dir, "p1.safetensors")),
      b = await SafetensorsFile.open(join(dir, "p2.safetensors"));
    assert.deepEqual(a.names(), b.names());
    for (const n of a.names()) assert.deepEqual(await a.readFloat32(n), await b.readFloat32(n), n);
    assert.equal(r2.edit.deltas.length, 32);
    const base = await loadCheckpoint(path), merged = await loadCheckpoint(join(dir, "merged.safetensors"));
    const fromPatch = await applyEdit(base.unet, await readLoraPatch(join(dir, "p1.safetensors"), base));
    for (const [name, w] of fromPatch) {
      const m = await merged.unet.readFloat32(name);
      let diff = 0, scale = 0;
      for (let i = 0; i < w.length; i++) {
        diff = Math.max(diff, Math.abs(w[i] - m[i]));
        scale = Math.max(scale, Math.abs(m[i]));
      }
      assert.ok(diff <= 1e-5 * scale, `${name}: ${diff}`);
    }
    a.close();
    b.close();
    base.close();
    merged.close();
    model.close();
  });
});

Deno.test("plan: two steps with different settings compose into one patch", async () => {
  await withTemp(async (dir) => {
    const path = join(dir, "m.safetensors");
    await writeSyntheticCheckpoint(path, { family: "sd15", dtype: "F32", seed: 7 });
    const model = await loadModel(path, { backend: BACKEND, cacheDir: null });
    const plan = model.forget(["zebra", "golf ball"], { method: "uce" }).forget("Van Gogh", {
      kind: "style",
      method: "uce",
      preserve: ["Monet"],
    });
    assert.equal(plan.steps.length, 2);
    assert.deepEqual(plan.steps[0].concepts, ["zebra", "golf ball"]);
    const r = await plan.run();
    assert.deepEqual(r.edit.provenance.concepts, ["zebra", "golf ball", "Van Gogh"]);
    assert.equal(r.reports.length, 2);
    model.close();
  });
});

Deno.test("plan: bad requests are refused with clear messages", () => {
  assert.throws(() => resolveSettings([""], {}), /concept must be non-empty/);
  assert.throws(() => resolveSettings(["art"], { guide: "art" }), /equals its guide/);
  assert.throws(() => resolveSettings(["x"], { lambda: 0 }), /lambda must be positive/);
  assert.throws(() => resolveSettings(["x"], { preserveScale: -1 }), /preserveScale must be zero or more/);
  assert.throws(() => resolveSettings(["x"], { epochs: 1.5 }), /epochs must be an integer/);
  assert.equal(resolveSettings(["Van Gogh"], { kind: "style" }).guide, "art");
  assert.equal(resolveSettings(["nudity"], {}).receEpochs, 3);
});

Deno.test("plan: Forget-Me-Not settings take the reference defaults and the user's overrides", () => {
  const d = resolveFmnSettings(["zebra"], { method: "fmn" });
  assert.equal(d.lr, 2e-6);
  assert.equal(d.eos, "all");
  assert.equal(d.preserveQueries, true);
  const s = resolveFmnSettings(["zebra"], { method: "fmn", preserveQueries: false, eos: "none", lr: 3e-3 });
  assert.deepEqual([s.preserveQueries, s.eos, s.lr], [false, "none", 3e-3]);
  assert.throws(
    () => resolveFmnSettings(["zebra"], { method: "fmn", preserveQueries: "no" as unknown as boolean }),
    /preserveQueries must be true or false/,
  );
  // Attention anchoring is off by default, projection on; both can be changed.
  assert.deepEqual([d.preserveAttention, d.preserveKeys], [0, true]);
  const a = resolveFmnSettings(["zebra"], { method: "fmn", preserveAttention: 0.1, preserveKeys: false });
  assert.deepEqual([a.preserveAttention, a.preserveKeys], [0.1, false]);
  assert.throws(
    () => resolveFmnSettings(["zebra"], { method: "fmn", preserveAttention: -1 }),
    /preserve attention weight must be zero or more, got -1/,
  );
  assert.throws(
    () => resolveFmnSettings(["zebra"], { method: "fmn", preserveKeys: 1 as unknown as boolean }),
    /preserveKeys must be true or false/,
  );
});
