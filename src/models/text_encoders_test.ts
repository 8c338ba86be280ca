import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { SafetensorsFile } from "../formats/safetensors.ts";
import { fromFloat32 } from "../formats/dtype.ts";
import { memorySource, type MemoryTensor } from "../formats/tensor_source.ts";
import type { ClipTextConfig } from "./clip_config.ts";
import { clipL14, openClipBigG14, openClipH14 } from "./clip_config.ts";
import type { Family } from "./config.ts";
import { encodeTokenIds, type TextEncoderModel, weightBinding } from "./text_encoders.ts";
import { releaseSessions, type SessionTiming } from "../runtime/session_cache.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/text_encoders/", import.meta.url));

function tinyConfig(json: string, preset: () => ClipTextConfig): ClipTextConfig {
  const c = JSON.parse(json);
  return {
    ...preset(),
    name: `tiny-${preset().name}`,
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    projectionDim: c.projectionDim,
    eosTokenId: c.eosTokenId,
    activation: c.activation,
  };
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

interface Fixture {
  model: TextEncoderModel;
  ids: Int32Array;
  count: number;
  ref: SafetensorsFile;
  close(): void;
}

/** A family's tiny transformers fixture: encoders, configurations, token ids and reference outputs. */
async function openFixture(family: Family): Promise<Fixture> {
  const ref = await SafetensorsFile.open(`${FIXTURES}${family}_reference.safetensors`);
  const files = [await SafetensorsFile.open(`${FIXTURES}${family}_text_encoder.safetensors`)];
  const presets = family === "sd21"
    ? [openClipH14]
    : family === "sdxl"
    ? [clipL14, openClipBigG14]
    : [clipL14];
  if (family === "sdxl") files.push(await SafetensorsFile.open(`${FIXTURES}sdxl_text_encoder_2.safetensors`));
  const configs = [tinyConfig(ref.metadata.config, presets[0])];
  if (family === "sdxl") configs.push(tinyConfig(ref.metadata.config_2, presets[1]));
  const raw = await ref.readRaw("input_ids");
  return {
    model: { family, encoders: files, configs, hash: `fixture-${family}` },
    ids: new Int32Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 4),
    count: raw.shape[0],
    ref,
    close() {
      ref.close();
      files.forEach((f) => f.close());
    },
  };
}

async function parity(family: Family, backend: "ort-web" | "ort-node") {
  const { model, ids, count, ref, close } = await openFixture(family);
  try {
    const out = await encodeTokenIds(
      model,
      model.encoders.map(() => ids),
      count,
      { backend, batchSize: 3 }, // 4 prompts in batches of 3 and 1: exercises the batching too
    );
    const expected = await ref.readFloat32("hidden_states");
    assertEquals([out.count, out.sequence, out.width], ref.info("hidden_states").shape);
    const err = maxAbsDiff(out.hiddenStates, expected);
    assert(err <= 1e-4, `${family} ${backend}: hidden_states max abs error ${err}`);
    if (family === "sdxl") {
      const pooledErr = maxAbsDiff(out.pooled!, await ref.readFloat32("pooled"));
      assert(pooledErr <= 1e-4, `${family} ${backend}: pooled max abs error ${pooledErr}`);
    } else {
      assertEquals(out.pooled, undefined);
    }
  } finally {
    close();
  }
}

/** The first `n` ids of each of `count` rows of 77. */
function firstIds(ids: Int32Array, count: number, n: number): Int32Array {
  const out = new Int32Array(count * n);
  for (let r = 0; r < count; r++) out.set(ids.subarray(r * 77, r * 77 + n), r * n);
  return out;
}

/** The first `n` of each prompt's 77 rows of width `w`. */
function firstRows(states: Float32Array, count: number, n: number, w: number): Float32Array {
  const out = new Float32Array(count * n * w);
  for (let r = 0; r < count; r++) out.set(states.subarray(r * 77 * w, (r * 77 + n) * w), r * n * w);
  return out;
}

async function prefixParity(family: Family, backend: "ort-web" | "ort-node") {
  const { model, ids, count, ref, close } = await openFixture(family);
  try {
    const full = await encodeTokenIds(model, model.encoders.map(() => ids), count, { backend });
    const expected = await ref.readFloat32("hidden_states");
    // 1: BOS alone; 4: the short prompt's last word token; 21, 76: the medium and full prompts'.
    for (const n of [1, 4, 21, 76]) {
      const part = firstIds(ids, count, n);
      const out = await encodeTokenIds(model, model.encoders.map(() => part), count, {
        backend,
        sequenceLength: n,
        batchSize: 3,
      });
      assertEquals([out.count, out.sequence, out.width], [count, n, full.width]);
      assertEquals([out.pooled, out.pooledWidth], [undefined, undefined]);
      const err = maxAbsDiff(out.hiddenStates, firstRows(full.hiddenStates, count, n, full.width));
      // Equal to float32 rounding: different matrix shapes may take different kernel paths.
      const scale = out.hiddenStates.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
      assert(
        err <= 1e-6 * scale,
        `${family} ${backend}: first ${n} tokens differ from the full run by ${err} (values up to ${scale})`,
      );
      const refErr = maxAbsDiff(out.hiddenStates, firstRows(expected, count, n, full.width));
      assert(refErr <= 1e-4, `${family} ${backend}: first ${n} tokens differ from transformers by ${refErr}`);
    }
  } finally {
    close();
  }
}

for (const family of ["sd15", "sd21", "sdxl"] as const) {
  for (const backend of ["ort-web", "ort-node"] as const) {
    Deno.test(`text encoder ${family} on ${backend} matches transformers (≤1e-4)`, () =>
      parity(family, backend));
  }
}

for (const family of ["sd15", "sd21", "sdxl"] as const) {
  Deno.test(`text encoder ${family}: a run on the first n tokens gives the full run's first n rows`, async () => {
    await prefixParity(family, "ort-node");
    if (family === "sdxl") await prefixParity(family, "ort-web");
  });
}

Deno.test("text encoder: a sequence length outside 1..77 or not matching the ids is refused", async () => {
  const { model, ids, count, close } = await openFixture("sd15");
  try {
    for (const n of [0, 78, 2.5]) {
      await rejects(
        encodeTokenIds(model, [ids], count, { sequenceLength: n }),
        new RegExp(`sequence length must be an integer from 1 to 77, got ${n}`),
      );
    }
    await rejects(
      encodeTokenIds(model, [ids], count, { sequenceLength: 5 }),
      /token ids of encoder 1: 308 values, need 4×5/,
    );
  } finally {
    close();
  }
});

Deno.test("text encoder: a checkpoint without the needed encoder gets a clear error", async () => {
  const f = await SafetensorsFile.open(`${FIXTURES}sd15_text_encoder.safetensors`);
  try {
    const tiny = {
      ...clipL14(),
      vocabSize: 1000,
      hiddenSize: 32,
      intermediateSize: 128,
      numLayers: 3,
      numHeads: 4,
    };
    const ids = new Int32Array(77);
    await rejects(
      encodeTokenIds({ family: "sdxl", encoders: [f], configs: [tiny, tiny] }, [ids, ids], 1),
      /sdxl needs 2 text encoders, the checkpoint provides 1/,
    );
    await rejects(
      encodeTokenIds({ family: "sd15", encoders: [f], configs: [{ ...tiny, hiddenSize: 64 }] }, [ids], 1),
      /token embedding has shape \[1000,32\], .* needs \[1000, 64\]/,
    );
    await rejects(
      encodeTokenIds({ family: "sd15", encoders: [f], configs: [{ ...tiny, numLayers: 5 }] }, [ids], 1),
      /has 3 layers, 5 are needed/,
    );
    await rejects(
      encodeTokenIds({ family: "sd15", encoders: [f], configs: [tiny] }, [ids.fill(5000)], 1),
      /token id 5000 .* outside the vocabulary/,
    );
  } finally {
    f.close();
  }
});

Deno.test("text encoder: a model kept in the disk cache (weights written one at a time) matches transformers", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forget-encoder-cache-" });
  const { model, ids, count, ref, close } = await openFixture("sdxl");
  try {
    // A hash of its own, so no session other tests created in memory is reused.
    const stored = { ...model, hash: "fixture-sdxl-disk-cache" };
    const expected = await ref.readFloat32("hidden_states");
    for (const backend of ["ort-node", "ort-web"] as const) {
      for (const from of ["built", "disk"]) {
        await releaseSessions("text-encoder:fixture-sdxl-disk-cache");
        const timings: SessionTiming[] = [];
        const out = await encodeTokenIds(stored, stored.encoders.map(() => ids), count, {
          backend,
          modelCache: { dir },
          onSession: (_, t) => timings.push(t),
        });
        // ort-web's first run finds the models ort-node stored (the key names the graph and weights, not the runtime).
        const fromDisk = from === "disk" || backend === "ort-web";
        assertEquals(timings.map((t) => t.fromDisk), [fromDisk, fromDisk], `${backend}, ${from}`);
        const err = maxAbsDiff(out.hiddenStates, expected);
        assert(err <= 1e-4, `${backend}, ${from}: hidden_states max abs error ${err}`);
      }
    }
    // Both encoders went to disk with their weights as external data.
    const folders = [...Deno.readDirSync(`${dir}/onnx`)].map((e) => e.name);
    assertEquals(folders.length, 2);
    for (const f of folders) assert(Deno.statSync(`${dir}/onnx/${f}/weights.bin`).size > 0, f);
  } finally {
    close();
    await releaseSessions("text-encoder:fixture-sdxl-disk-cache");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("text encoder: float16 weights kept as float16 initializers give the float32-bound result", async () => {
  const f = await SafetensorsFile.open(`${FIXTURES}sd15_text_encoder.safetensors`);
  const ref = await SafetensorsFile.open(`${FIXTURES}sd15_reference.safetensors`);
  try {
    const half: Record<string, MemoryTensor> = {};
    for (const name of f.names()) {
      const info = f.info(name);
      half[name] = { dtype: "F16", shape: info.shape, data: fromFloat32("F16", await f.readFloat32(name)) };
    }
    const source = memorySource(half);
    const configs = [tinyConfig(ref.metadata.config, clipL14)];
    const raw = await ref.readRaw("input_ids");
    const ids = new Int32Array(raw.bytes.buffer, raw.bytes.byteOffset, raw.bytes.byteLength / 4);
    for (const backend of ["ort-web", "ort-node"] as const) {
      const run = (weights: "float32" | "stored") =>
        encodeTokenIds({ family: "sd15", encoders: [source], configs }, [ids], 4, { backend, weights });
      const [a, b] = [await run("float32"), await run("stored")];
      const err = maxAbsDiff(a.hiddenStates, b.hiddenStates);
      assert(err <= 1e-6, `${backend}: float16-stored differs from float32-bound by ${err}`);
      // Rounding the weights to float16 moves the result only slightly from the float32 reference.
      assert(maxAbsDiff(a.hiddenStates, await ref.readFloat32("hidden_states")) < 0.05);
      // Position embeddings and the mask are sliced after the float16 → float32 cast: prefixes work too.
      const prefix = await encodeTokenIds(
        { family: "sd15", encoders: [source], configs },
        [firstIds(ids, 4, 5)],
        4,
        {
          backend,
          weights: "stored",
          sequenceLength: 5,
        },
      );
      const prefixErr = maxAbsDiff(prefix.hiddenStates, firstRows(b.hiddenStates, 4, 5, b.width));
      assert(prefixErr <= 1e-5, `${backend}: float16-stored prefix differs by ${prefixErr}`);
    }
  } finally {
    f.close();
    ref.close();
  }
});

Deno.test("text encoder: weights stay float16 on the WASM build only when float32 would not fit", () => {
  // Only the names and shapes matter here: a source of bigG's size, never read.
  const big = openClipBigG14();
  const shapes: Record<string, number[]> = {
    "text_model.embeddings.token_embedding.weight": [big.vocabSize, big.hiddenSize],
  };
  for (let l = 0; l < big.numLayers; l++) {
    shapes[`text_model.encoder.layers.${l}.mlp.fc1.weight`] = [big.intermediateSize, big.hiddenSize];
    shapes[`text_model.encoder.layers.${l}.mlp.fc2.weight`] = [big.hiddenSize, big.intermediateSize];
    shapes[`text_model.encoder.layers.${l}.self_attn.qkvo`] = [4 * big.hiddenSize, big.hiddenSize];
  }
  const source = {
    names: () => Object.keys(shapes),
    has: (n: string) => n in shapes,
    info: (n: string) => ({ dtype: "F16" as const, shape: shapes[n] }),
    readFloat32: () => Promise.reject(new Error("not read")),
    readRaw: () => Promise.reject(new Error("not read")),
  };
  const small = memorySource({ w: { dtype: "F16", shape: [2], data: new Uint8Array(4) } });
  const model = { family: "sdxl" as const, encoders: [small, source] };
  assertEquals(weightBinding(model, 1, "ort-web"), "stored");
  assertEquals(weightBinding(model, 1, "ort-node"), "float32");
  assertEquals(weightBinding(model, 0, "ort-web"), "float32");
  assertEquals(weightBinding(model, 1, "ort-web", "float32"), "float32");
});
