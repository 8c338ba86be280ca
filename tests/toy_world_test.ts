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
  name: "toy world: RECE erasure drops the concept's detection by ≥ 60 points, others ≤ 10 on average",
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
      // Rates are fractions of 10 or 12 images: compare whole points (0.7 − 0.8 is −0.10000000000000009).
      const change = (r: (typeof c.rows)[number]) => Math.round((r.rates.RECE - r.rates.base) * 1000) / 1000;
      const moved: string[] = [];
      let sum = 0, kept = 0;
      for (const row of c.rows) {
        if (row.erased) {
          assert.ok(change(row) <= -0.6, `${row.concept}: ${row.rates.base} → ${row.rates.RECE}`);
        } else {
          sum += Math.abs(change(row));
          kept++;
          moved.push(`${row.concept} ${row.rates.base} → ${row.rates.RECE}`);
          // Measured with the manifest's torch seeds: star loses 3 of its 10 images (0.7 → 0.4; 0.75 → 0.45
          // over 4 seeds; the old portable noise drew a luckier 0.6 → 0.5), no other concept more than 1.
          assert.ok(
            Math.abs(change(row)) <= 0.3,
            `${row.concept} moved: ${row.rates.base} → ${row.rates.RECE}`,
          );
        }
      }
      assert.ok(
        sum / kept <= 0.1,
        `the others moved ${(100 * sum / kept).toFixed(1)} points on average: ${moved}`,
      );
    } finally {
      await judge.close();
      model.close();
    }
  },
});
