/**
 * UCE and RECE against tests/reference/closed_form_fixtures.py, which applies the published updates layer by
 * layer (explicit inverse, float64) on a tiny random model. Ours uses the shared-M form, factored updates and
 * the low-rank export; the edited weights must agree.
 */
import assert from "node:assert/strict";
import { matrix64 } from "../../../kernels/matrix.ts";
import { CpuBackend } from "../../../kernels/cpu/backend.ts";
import { closedFormErase, type ClosedFormModel } from "./erase.ts";
import { defaultSettings } from "./defaults.ts";
import { GramCache } from "./gram_cache.ts";
import { denseDelta } from "../../patch/edit.ts";

interface Fixture {
  d: number;
  outs: number[];
  weights: number[][][];
  texts: Record<string, { rows: number[][]; length: number }>;
  cases: {
    name: string;
    concepts: string[];
    guide: string;
    preserve: string[];
    settings: Record<string, number | string>;
    epochs: number;
    expected: number[][][];
  }[];
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../../../tests/fixtures/closed_form/cases.json", import.meta.url)),
);

function fakeModel(): ClosedFormModel {
  const d = fixture.d;
  return {
    family: "sd15",
    hash: "sha256:fixture",
    contextDim: d,
    encoderKey: "fixture",
    weights: fixture.weights.map((w, i) => ({
      module: `layer${i >> 1}.attn2.${i % 2 ? "to_v" : "to_k"}`,
      outDim: w.length,
      data: Float32Array.from(w.flat()),
    })),
    encode: (texts) =>
      Promise.resolve(texts.map((t) => {
        const e = fixture.texts[t];
        if (!e) throw new Error(`no fixture text "${t}"`);
        return { text: t, length: e.length, rows: matrix64(77, d, Float64Array.from(e.rows.flat())) };
      })),
  };
}

for (const c of fixture.cases) {
  Deno.test(`closed form reference: ${c.name}`, async () => {
    const method = c.epochs ? "rece" : "uce";
    const settings = {
      ...defaultSettings("object", method),
      guide: c.guide,
      preserve: c.preserve,
      convention: c.settings.convention as "aligned" | "last-token",
      preserveScale: c.settings.preserveScale as number,
      lambda: c.settings.lambda as number,
      receEpochs: c.epochs,
      receLambda: (c.settings.receLambda as number) ?? 1e-3,
      receRidge: (c.settings.receRidge as number) ?? 0.1,
      recePreserveScale: (c.settings.recePreserveScale as number) ?? 0.1,
      recePreserve: [" "],
    };
    const model = fakeModel();
    const { edit, report } = await closedFormErase(model, c.concepts, settings, {
      backend: new CpuBackend(),
      cache: new GramCache(null),
    });
    model.weights.forEach((w, i) => {
      const delta = denseDelta(edit.deltas.find((x) => x.module === w.module)!);
      const expected = c.expected[i].flat();
      let maxDiff = 0;
      for (let j = 0; j < expected.length; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(w.data[j] + delta[j] - expected[j]));
      }
      assert.ok(maxDiff < 2e-5, `${c.name} ${w.module}: max abs diff ${maxDiff}`);
    });
    assert.ok(report.solveResiduals.every((r) => r < 1e-10));
  });
}
