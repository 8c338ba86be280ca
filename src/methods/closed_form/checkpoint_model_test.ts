import assert from "node:assert/strict";
import { join } from "node:path";
import { CpuBackend } from "../../../kernels/cpu/backend.ts";
import { loadCheckpoint } from "../../formats/checkpoint.ts";
import { writeSyntheticCheckpoint } from "../../formats/synth.ts";
import { FAMILIES } from "../../models/config.ts";
import { denseDelta } from "../../patch/edit.ts";
import { closedFormModel } from "./checkpoint_model.ts";
import { defaultSettings } from "./defaults.ts";
import { closedFormErase, type ClosedFormModel } from "./erase.ts";
import { GramCache } from "./gram_cache.ts";
import { lastTokenIndex } from "./rows.ts";

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

for (const family of FAMILIES) {
  Deno.test(`closed form ${family}: last-token encodes prefixes only, and erases exactly as with 77 rows`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "forget-prefix-test-" });
    const ckpt = await (async () => {
      const path = join(dir, "m.safetensors");
      await writeSyntheticCheckpoint(path, { family, dtype: "F32", seed: 3 });
      return await loadCheckpoint(path);
    })();
    try {
      const model = await closedFormModel(ckpt, { runtime: "ort-node" });
      // The erasure first (its prefix encodings are computed, not sliced from cached full ones), then the same
      // erasure from 77-row encodings: the same edit.
      const settings = {
        ...defaultSettings("object", "uce"),
        convention: "last-token" as const,
        preserve: ["", "a photo of a cat", "golden retriever"],
        lambda: 1e-3,
      };
      const allRows: ClosedFormModel = { ...model, encode: (t) => model.encode(t, "all") };
      const run = (m: ClosedFormModel) =>
        closedFormErase(m, ["zebra", "a photo of a golden retriever"], settings, {
          backend: new CpuBackend(),
          cache: new GramCache(null),
        });
      const a = await run(model);
      const texts = ["a photo of a golden retriever", "zebra", "", " "];
      // Prefixes computed by the erasure above (a cached full encoding would answer them too, only "" is one).
      const prefixes = await model.encode(texts, "through-last-token");
      const full = await model.encode(texts, "all");
      texts.forEach((text, i) => {
        const p = prefixes[i], f = full[i];
        assert.equal(p.length, f.length, text);
        assert.equal(p.rows.rows, lastTokenIndex(p.length) + 1, `${JSON.stringify(text)}: rows held`);
        assert.equal(f.rows.rows, 77);
        const head = f.rows.data.subarray(0, p.rows.data.length);
        const err = maxAbs(p.rows.data.map((v, j) => v - head[j]));
        assert.ok(err <= 1e-6 * Math.max(1, maxAbs(head)), `${JSON.stringify(text)}: prefix off by ${err}`);
      });

      const b = await run(allRows);
      assert.equal(a.edit.deltas.length, b.edit.deltas.length);
      assert.ok(a.report.rank > 0);
      a.edit.deltas.forEach((d, i) => {
        const [x, y] = [denseDelta(d), denseDelta(b.edit.deltas[i])];
        const err = maxAbs(x.map((v, j) => v - y[j]));
        assert.ok(err <= 1e-5 * Math.max(1e-3, maxAbs(y)), `${d.module}: edits differ by ${err}`);
      });
    } finally {
      ckpt.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
