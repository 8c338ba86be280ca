import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SafetensorsFile, writeSafetensors } from "./safetensors.ts";
import { openSafetensors, ShardedSafetensors } from "./sharded.ts";

const INDEX = "diffusion_pytorch_model.safetensors.index.json";
const shardName = (i: number): string => `diffusion_pytorch_model-0000${i + 1}-of-00003.safetensors`;

/** Three shards of two tensors each, and a valid index; returns the weight_map. */
async function writeShards(dir: string): Promise<Record<string, string>> {
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < 3; s++) {
    const tensors: Parameters<typeof writeSafetensors>[1] = {};
    for (let k = 0; k < 2; k++) {
      const name = `block.${s}.w${k}`;
      tensors[name] = { dtype: "F32", shape: [2], data: new Float32Array([s, k]) };
      weightMap[name] = shardName(s);
    }
    await writeSafetensors(join(dir, shardName(s)), tensors, { format: "pt" });
  }
  await writeIndex(dir, weightMap);
  return weightMap;
}

async function writeIndex(dir: string, weightMap: Record<string, unknown>): Promise<string> {
  const path = join(dir, INDEX);
  await writeFile(path, JSON.stringify({ metadata: { total_size: 48 }, weight_map: weightMap }));
  return path;
}

async function withShards(
  fn: (dir: string, weightMap: Record<string, string>) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "forget-shards-" });
  try {
    await fn(dir, await writeShards(dir));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sharded: three shards and an index read as one source", async () => {
  await withShards(async (dir) => {
    const src = await ShardedSafetensors.open(join(dir, INDEX));
    try {
      assert.equal(src.names().length, 6);
      assert.deepEqual(src.metadata, { total_size: "48" });
      assert.deepEqual(src.info("block.2.w1"), { dtype: "F32", shape: [2] });
      for (let s = 0; s < 3; s++) {
        for (let k = 0; k < 2; k++) assert.deepEqual([...await src.readFloat32(`block.${s}.w${k}`)], [s, k]);
      }
      assert.equal((await src.readRaw("block.1.w0")).bytes.byteLength, 8);
      assert.ok(!src.has("block.3.w0"));
      assert.throws(
        () => src.info("nope"),
        /diffusion_pytorch_model\.safetensors\.index\.json: no tensor named "nope"/,
      );
    } finally {
      src.close();
    }
    const single = await openSafetensors(join(dir, shardName(0)));
    assert.ok(single instanceof SafetensorsFile);
    single.close();
    const sharded = await openSafetensors(join(dir, INDEX));
    assert.ok(sharded instanceof ShardedSafetensors);
    sharded.close();
  });
});

Deno.test("sharded: bad indexes fail with errors naming the index and the problem", async () => {
  await withShards(async (dir, weightMap) => {
    const index = join(dir, INDEX);
    const expectError = async (map: Record<string, unknown> | string, problem: RegExp): Promise<void> => {
      if (typeof map === "string") await writeFile(index, map);
      else await writeIndex(dir, map);
      const err = await ShardedSafetensors.open(index).then((s) => (s.close(), undefined), (e) => e);
      assert.ok(err instanceof Error, `expected ${problem}`);
      assert.ok(err.message.startsWith(`${index}: `), err.message);
      assert.match(err.message, problem);
    };
    await expectError(
      { ...weightMap, "block.0.w0": "diffusion_pytorch_model-00004-of-00003.safetensors" },
      /shard diffusion_pytorch_model-00004-of-00003\.safetensors \(for "block\.0\.w0"\): .*00004-of-00003\.safetensors: cannot open/,
    );
    await expectError(
      { ...weightMap, "block.0.w0": shardName(1) },
      /weight_map puts "block\.0\.w0" in diffusion_pytorch_model-00002-of-00003\.safetensors, but that shard does not hold it/,
    );
    await expectError(
      { ...weightMap, "block.0.w0": `../${shardName(0)}` },
      /names an invalid shard "\.\.\/diff/,
    );
    await expectError(
      { ...weightMap, "block.0.w0": `/etc/passwd` },
      /names an invalid shard "\/etc\/passwd"/,
    );
    await expectError({ ...weightMap, "block.0.w0": ".." }, /names an invalid shard "\.\."/);
    await expectError({ ...weightMap, "block.0.w0": "" }, /names an invalid shard ""/);
    await expectError({ ...weightMap, "block.0.w0": 3 }, /names an invalid shard 3/);
    await expectError("{", /shard index is not valid JSON/);
    await expectError('{"weight_map":[]}', /shard index has no "weight_map" object/);
    await expectError(
      '{"weight_map":{"a":"x","a":"y"}}',
      /shard index has a duplicate key "a" in "weight_map"/,
    );
    await writeFile(join(dir, shardName(2)), new Uint8Array(3));
    await expectError(
      weightMap,
      /00003-of-00003\.safetensors: not a valid safetensors file: file is 3 bytes/,
    );
    await Deno.remove(index);
    await assert.rejects(ShardedSafetensors.open(index), new RegExp(`${index}: cannot read the shard index`));
  });
});
