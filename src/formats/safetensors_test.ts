import assert from "node:assert/strict";
import { join } from "node:path";
import { SafetensorsFile, writeSafetensors } from "./safetensors.ts";
import { fromFloat32 } from "./dtype.ts";

Deno.test("safetensors: write then read back every float dtype", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "t.safetensors");
    const v = new Float32Array([1, -2.5, 0.333251953125, 65504]);
    await writeSafetensors(path, {
      a32: { dtype: "F32", shape: [2, 2], data: v },
      b16: { dtype: "F16", shape: [4], data: fromFloat32("F16", v) },
      cbf: { dtype: "BF16", shape: [4, 1], data: fromFloat32("BF16", new Float32Array([1, -2.5, 0.5, 3])) },
      d64: { dtype: "F64", shape: [], data: new Float64Array([7]) },
    }, { format: "pt" });
    const f = await SafetensorsFile.open(path);
    assert.deepEqual(f.metadata, { format: "pt" });
    assert.deepEqual(f.info("cbf"), { dtype: "BF16", shape: [4, 1] });
    assert.deepEqual([...await f.readFloat32("a32")], [...v]);
    assert.deepEqual([...await f.readFloat32("b16")], [...v]);
    assert.deepEqual([...await f.readFloat32("cbf")], [1, -2.5, 0.5, 3]);
    assert.deepEqual([...await f.readFloat32("d64")], [7]);
    assert.equal((f.dataStart - 8) % 8, 0, "header padded to 8 bytes");
    f.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
