/**
 * End-to-end on the built-in toy world (conceptbench/toy/): the judge reads held-out ground-truth renders,
 * and erasing a concept removes it from generated images while the other concepts stay.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "fflate";
import { loadModel } from "../src/api/model.ts";
import { Judge } from "../src/eval/judge.ts";
import { readManifest } from "../src/eval/manifest.ts";
import { compareVariants } from "../src/eval/compare.ts";
import { toyManifestPath } from "../src/eval/toy_world.ts";
import { applyEdit } from "../src/patch/merge.ts";
import type { RgbImage } from "../src/image/image.ts";

const manifestPath = await toyManifestPath();
const ignore = manifestPath === null;

Deno.test({
  name: "toy world: the judge is right on ≥ 95% of held-out ground-truth renders, on every head",
  ignore,
  async fn() {
    const manifest = await readManifest(manifestPath!);
    const meta = JSON.parse(
      await Deno.readTextFile(new URL("./fixtures/judge/renders.json", import.meta.url)),
    );
    const raw = gunzipSync(await Deno.readFile(new URL("./fixtures/judge/renders.rgb.gz", import.meta.url)));
    const size = meta.size, per = size * size * 3;
    const images: RgbImage[] = Array.from({ length: meta.count }, (_, i) => ({
      width: size,
      height: size,
      channels: 3,
      data: raw.subarray(i * per, (i + 1) * per),
    }));
    const judge = await Judge.open(manifest.judge, { backend: "ort-node" });
    const verdicts = await judge.classify(images);
    await judge.close();
    meta.heads.forEach((head: string, h: number) => {
      const right = verdicts.filter((v, i) => v[head].index === meta.labels[i][h]).length;
      assert.ok(right / meta.count >= 0.95, `${head}: ${right}/${meta.count}`);
    });
  },
});

Deno.test({
  name: "toy world: RECE erasure drops the concept's detection by ≥ 60 points, others move ≤ 10",
  ignore,
  async fn() {
    const manifest = await readManifest(manifestPath!);
    const model = await loadModel(manifest.model, {
      backend: "cpu,ort-node",
      cacheDir: null,
      warn: () => {},
    });
    const judge = await Judge.open(manifest.judge, { backend: "ort-node" });
    try {
      const target = "striped";
      const others = manifest.concepts.map((c) => c.concept).filter((c) => c !== target);
      const result = await model.forget(target, { method: "rece", preserve: others }).run();
      const patch = { key: "test-rece", weights: await applyEdit(model.checkpoint.unet, result.edit) };
      const c = await compareVariants(
        model.checkpoint,
        manifest,
        judge,
        [
          { label: "base", patch: null },
          { label: "RECE", patch },
        ],
        [target],
        { prompts: 6, seeds: 2, backend: "ort-node" },
      );
      for (const row of c.rows) {
        const change = row.rates.RECE - row.rates.base;
        if (row.erased) assert.ok(change <= -0.6, `${row.concept}: ${row.rates.base} → ${row.rates.RECE}`);
        else {assert.ok(
            Math.abs(change) <= 0.1,
            `${row.concept} moved: ${row.rates.base} → ${row.rates.RECE}`,
          );}
      }
    } finally {
      await judge.close();
      model.close();
    }
  },
});
