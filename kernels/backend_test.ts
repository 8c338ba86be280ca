import assert from "node:assert/strict";
import type { Backend } from "./backend.ts";
import { CpuBackend } from "./cpu/backend.ts";
import { matrix, relativeMaxError } from "./matrix.ts";
import { randomMatrix, spdWithCondition } from "./random.ts";
import { WebGpuBackend } from "./webgpu/backend.ts";
import { probeAdapter } from "./webgpu/device.ts";

const probe = await probeAdapter();
const gpu: Backend | undefined = probe.status === "ok" ? await WebGpuBackend.open(probe) : undefined;
const cpu: Backend = new CpuBackend();

Deno.test({
  name: "both backends give the same answers through the Backend interface",
  ignore: !gpu,
  async fn() {
    const a = randomMatrix(33, 65, 1);
    const b = randomMatrix(65, 7, 2);
    for (const precision of ["f32", "f16"] as const) {
      const err = relativeMaxError(
        await gpu!.matmul(a, b, { precision }),
        await cpu.matmul(a, b, { precision }),
      );
      assert.ok(err < 1e-5, `matmul ${precision}: ${err}`);
    }
    assert.ok(relativeMaxError(await gpu!.gram(a), await cpu.gram(a)) < 1e-5);
    const batch = { batch: 3, rows: 5, cols: 7, data: randomMatrix(15, 7, 3).data };
    const x = randomMatrix(3, 7, 4);
    assert.ok(relativeMaxError(await gpu!.batchedMatVec(batch, x), await cpu.batchedMatVec(batch, x)) < 1e-5);
    const spd = spdWithCondition(40, 1e3, 5);
    const rhs = randomMatrix(40, 3, 6);
    assert.ok(relativeMaxError((await gpu!.solveSPD(spd, rhs)).x, (await cpu.solveSPD(spd, rhs)).x) < 1e-9);
    const input = {
      x: randomMatrix(20, 16, 7),
      context: randomMatrix(77, 12, 8),
      wq: randomMatrix(16, 16, 9, 0.3),
      wk: randomMatrix(16, 12, 10, 0.3),
      heads: 2,
      keys: [3, 76],
    };
    const pg = await gpu!.attentionProbabilities(input);
    const pc = await cpu.attentionProbabilities(input);
    assert.ok(
      relativeMaxError(matrix(1, pg.data.length, pg.data), matrix(1, pc.data.length, pc.data)) < 1e-4,
    );
    const gg = await gpu!.attentionGradient(input, "norm");
    const gc = await cpu.attentionGradient(input, "norm");
    assert.ok(relativeMaxError(gg.gradWq, gc.gradWq) < 1e-3 && relativeMaxError(gg.gradWk, gc.gradWk) < 1e-3);
    const v = randomMatrix(1, 100, 11).data;
    const w = randomMatrix(1, 100, 12).data;
    const row = (d: Float32Array) => matrix(1, d.length, d);
    assert.ok(
      relativeMaxError(row(await gpu!.combine(v, w, 2, 3)), row(await cpu.combine(v, w, 2, 3))) < 1e-6,
    );
    assert.ok(relativeMaxError(row(await gpu!.multiply(v, w)), row(await cpu.multiply(v, w))) < 1e-6);
    assert.ok(
      Math.abs((await gpu!.reduce(v, "sumOfSquares")) - (await cpu.reduce(v, "sumOfSquares"))) < 1e-4,
    );
    assert.ok(Math.abs((await gpu!.dot(v, w)) - (await cpu.dot(v, w))) < 1e-4);
    const og = gpu!.createAdamW(v, { lr: 0.1 });
    const oc = cpu.createAdamW(v, { lr: 0.1 });
    await og.update(w);
    await oc.update(w);
    assert.ok(relativeMaxError(row(await og.read()), row(await oc.read())) < 1e-6);
    og.dispose();
  },
});

Deno.test({ name: "free the backend test device", fn: () => gpu?.dispose() });
