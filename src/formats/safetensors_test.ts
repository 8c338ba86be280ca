import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromFloat32 } from "./dtype.ts";
import {
  MAX_HEADER_BYTES,
  readHeader,
  SafetensorsError,
  SafetensorsFile,
  type TensorData,
  writeAtomically,
  writeSafetensors,
} from "./safetensors.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/safetensors/", import.meta.url));

interface FixtureTensor {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}
interface Fixture {
  metadata: Record<string, string> | null;
  tensors: Record<string, FixtureTensor>;
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(FIXTURES + name, "utf8"));
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "forget-st-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A file made of a length prefix (default: the header's byte length), the header text and data bytes. */
function fileBytes(
  header: string | Uint8Array,
  data: Uint8Array = new Uint8Array(),
  length?: bigint,
): Uint8Array {
  const h = typeof header === "string" ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(data, 8 + h.byteLength);
  return out;
}

async function expectValues(f: SafetensorsFile, fx: Fixture): Promise<void> {
  assert.deepEqual(f.metadata, fx.metadata ?? {});
  assert.deepEqual(new Set(f.names()), new Set(Object.keys(fx.tensors)));
  for (const [name, t] of Object.entries(fx.tensors)) {
    assert.deepEqual(f.info(name), { dtype: t.dtype, shape: t.shape }, name);
    const got = await f.readFloat32(name);
    const want = t.values.map((v) => Math.fround(Number(v)));
    assert.equal(got.length, want.length, name);
    for (let i = 0; i < want.length; i++) {
      if (!Object.is(got[i], want[i])) assert.fail(`${name}[${i}]: got ${got[i]}, want ${want[i]}`);
    }
  }
}

Deno.test("safetensors: reads the reference file of every dtype with exact values", async () => {
  const f = await SafetensorsFile.open(FIXTURES + "all_dtypes.safetensors");
  try {
    await expectValues(f, fixture("all_dtypes.json"));
    assert.deepEqual(f.info("scalar_f32").shape, []);
    assert.equal((await f.readRaw("empty_f16")).bytes.byteLength, 0);
    const ids = await f.readRaw("position_ids");
    assert.deepEqual(ids.shape, [1, 77]);
    assert.equal(new DataView(ids.bytes.buffer).getBigInt64(76 * 8, true), 76n);
  } finally {
    f.close();
  }
});

Deno.test("safetensors: reads a file from a non-reference writer (unpadded header, unaligned tensors)", async () => {
  const f = await SafetensorsFile.open(FIXTURES + "unaligned.safetensors");
  try {
    assert.notEqual(f.dataStart % 4, 0);
    await expectValues(f, fixture("unaligned.json"));
  } finally {
    f.close();
  }
});

Deno.test("safetensors: write then read back every float dtype", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "t.safetensors");
    const v = new Float32Array([1, -2.5, 0.333251953125, 65504]);
    await writeSafetensors(path, {
      a32: { dtype: "F32", shape: [2, 2], data: v },
      b16: { dtype: "F16", shape: [4], data: fromFloat32("F16", v) },
      cbf: {
        dtype: "BF16",
        shape: [4, 1],
        data: () => Promise.resolve(fromFloat32("BF16", new Float32Array([1, -2.5, 0.5, 3]))),
      },
      d64: { dtype: "F64", shape: [], data: new Float64Array([7]) },
      e0: { dtype: "I32", shape: [0, 5], data: new Int32Array(0) },
      f8: { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
    }, { format: "pt", ["__proto__"]: "kept" });
    const f = await SafetensorsFile.open(path);
    assert.deepEqual(Object.entries(f.metadata), [["format", "pt"], ["__proto__", "kept"]]);
    assert.deepEqual(f.info("cbf"), { dtype: "BF16", shape: [4, 1] });
    assert.deepEqual([...await f.readFloat32("a32")], [...v]);
    assert.deepEqual([...await f.readFloat32("b16")], [...v]);
    assert.deepEqual([...await f.readFloat32("cbf")], [1, -2.5, 0.5, 3]);
    assert.deepEqual([...await f.readFloat32("d64")], [7]);
    assert.deepEqual([...await f.readFloat32("e0")], []);
    assert.deepEqual([...await f.readFloat32("f8")], [1, 0, 1]);
    assert.equal((f.dataStart - 8) % 8, 0, "header padded to 8 bytes");
    f.close();
    await assert.rejects(f.readRaw("a32"), /t\.safetensors: file is closed/);
  });
});

Deno.test("safetensors: output is byte-identical to safetensors.torch.save_file", async () => {
  const ref = JSON.parse(readFileSync(FIXTURES + "writer_reference.json", "utf8")) as {
    cases: { file: string; metadata: Record<string, string> | null; sha256: string; size: number }[];
  };
  await withTempDir(async (dir) => {
    for (const c of ref.cases) {
      const src = await SafetensorsFile.open(FIXTURES + c.file);
      const tensors: Record<string, TensorData> = {};
      // Hand the tensors over in a scrambled order: the writer must impose the reference order itself.
      for (const name of src.names().reverse()) {
        const raw = await src.readRaw(name);
        tensors[name] = { dtype: raw.dtype, shape: raw.shape, data: raw.bytes };
      }
      src.close();
      const out = join(dir, c.file);
      await writeSafetensors(out, tensors, c.metadata ?? undefined);
      const ours = await readFile(out);
      const theirs = await readFile(FIXTURES + c.file);
      assert.equal(ours.byteLength, c.size);
      assert.deepEqual(new Uint8Array(ours), new Uint8Array(theirs), c.file);
      assert.equal(createHash("sha256").update(ours).digest("hex"), c.sha256);
    }
  });
});

Deno.test("safetensors: header edge cases the reference accepts", async () => {
  const t = '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const one = new Uint8Array(new Float32Array([1.5]).buffer);
  const cases: [string, string, Uint8Array][] = [
    ["leading whitespace", ` \n\t{${t}}`, one],
    ["trailing whitespace", `{${t}}   \r\n`, one],
    ["null metadata", `{"__metadata__":null,${t}}`, one],
    ["extra tensor field", `{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"note":[1.5]}}`, one],
    ["empty header", "{}", new Uint8Array()],
    ["scalar", '{"w":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', one],
    [
      "zero-size tensors sharing an offset",
      `{"e":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},` +
      `"z":{"dtype":"I64","shape":[3,0],"data_offsets":[0,0]},${t}}`,
      one,
    ],
    ["zero-size tensor at the end", `{"e":{"dtype":"F16","shape":[0],"data_offsets":[4,4]},${t}}`, one],
  ];
  await withTempDir(async (dir) => {
    for (const [label, header, data] of cases) {
      const path = join(dir, "ok.safetensors");
      await writeFile(path, fileBytes(header, data));
      const f = await SafetensorsFile.open(path);
      try {
        if (f.has("w")) assert.deepEqual([...await f.readFloat32("w")], [1.5], label);
        for (const n of f.names()) await f.readRaw(n);
      } finally {
        f.close();
      }
    }
  });
});

Deno.test("safetensors: bad files fail with a SafetensorsError naming the file and the problem", async () => {
  const t = '"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}';
  const one = new Uint8Array(4);
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty file", new Uint8Array(), /file is 0 bytes, shorter than the 8-byte header length/],
    ["5 bytes", new Uint8Array(5), /file is 5 bytes/],
    ["length > file", fileBytes(`{${t}}`, one, 1000n), /header length 1000 is larger than the file/],
    [
      "length > 100 MB",
      fileBytes(`{${t}}`, one, BigInt(MAX_HEADER_BYTES + 1)),
      /exceeds the 100000000-byte limit/,
    ],
    ["length 2^64-1", fileBytes(`{${t}}`, one, 2n ** 64n - 1n), /exceeds the 100000000-byte limit/],
    ["length 0", fileBytes("", one, 0n), /header length 0 is too small/],
    ["invalid JSON", fileBytes(`{${t}`, one), /header is not valid JSON/],
    ["trailing NUL padding", fileBytes(`{${t}}\0\0`, one), /header is not valid JSON/],
    [
      "byte-order mark",
      fileBytes(new Uint8Array([0xef, 0xbb, 0xbf, ...enc(`{${t}}`)]), one),
      /not valid JSON/,
    ],
    [
      "non-UTF-8",
      fileBytes(new Uint8Array([...enc(`{"\xff`.slice(0, 2)), 0xff, ...enc(`":1}`)])),
      /not valid UTF-8/,
    ],
    ["array header", fileBytes("[1,2]"), /header is \[1,2\], not a JSON object/],
    ["number header", fileBytes("12"), /header is 12, not a JSON object/],
    ["null header", fileBytes("null"), /header is null, not a JSON object/],
    ["duplicate tensor", fileBytes(`{${t},${t}}`, one), /duplicate key "w"/],
    [
      "duplicate field",
      fileBytes(`{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, one),
      /duplicate key "dtype" in "w"/,
    ],
    [
      "duplicate metadata",
      fileBytes(`{"__metadata__":{"a":"1","a":"2"},${t}}`, one),
      /duplicate key "a" in "__metadata__"/,
    ],
    [
      "metadata number",
      fileBytes(`{"__metadata__":{"a":1},${t}}`, one),
      /__metadata__ value of "a" is 1, not a string/,
    ],
    [
      "nested metadata",
      fileBytes(`{"__metadata__":{"a":{"b":"c"}},${t}}`, one),
      /value of "a" is \{"b":"c"\}, not a string/,
    ],
    [
      "lone surrogate name",
      fileBytes(`{"\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, one),
      /tensor "\\ud800" has a name with an unpaired surrogate escape/,
    ],
    [
      "metadata array",
      fileBytes(`{"__metadata__":["a"],${t}}`, one),
      /__metadata__ is \["a"\], not an object/,
    ],
    [
      "unknown dtype",
      fileBytes(`{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}`, one),
      /tensor "w" has unknown or unsupported dtype "F8_E4M3"/,
    ],
    [
      "missing dtype",
      fileBytes(`{"w":{"shape":[1],"data_offsets":[0,4]}}`, one),
      /unsupported dtype undefined/,
    ],
    ["tensor not object", fileBytes(`{"w":[1]}`, one), /tensor "w" is \[1\], not an object/],
    [
      "negative dim",
      fileBytes(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, one),
      /header: -1 in "shape" of "w" is not written as an unsigned integer/,
    ],
    [
      "float dim",
      fileBytes(`{"w":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}`, one),
      /header: 1.0 in "shape" of "w" is not written/,
    ],
    [
      "float offset",
      fileBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}`, one),
      /4e0 in "data_offsets" of "w" is not written/,
    ],
    [
      "huge offset",
      fileBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,1e400]}}`, one),
      /1e400 in "data_offsets"/,
    ],
    [
      "one offset",
      fileBytes(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, one),
      /invalid data_offsets \[4\]/,
    ],
    [
      "reversed offsets",
      fileBytes(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}`, one),
      /end before they begin/,
    ],
    [
      "shape/bytes mismatch",
      fileBytes(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, one),
      /needs 8 bytes but its data_offsets span 4/,
    ],
    [
      "overlap",
      fileBytes(
        `{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}`,
        one,
      ),
      /tensor "b" overlaps the tensor before it/,
    ],
    [
      "gap",
      fileBytes(`{"a":{"dtype":"F16","shape":[1],"data_offsets":[2,4]}}`, one),
      /a gap of 2 bytes lies before tensor "a"/,
    ],
    [
      "past the end",
      fileBytes(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, one),
      /tensor "w" ends 4 bytes past the end of the file/,
    ],
    ["trailing bytes", fileBytes(`{${t}}`, new Uint8Array(6)), /2 bytes follow the last tensor/],
  ];
  await withTempDir(async (dir) => {
    for (const [label, bytes, problem] of cases) {
      const path = join(dir, `${label.replaceAll(/\W/g, "_")}.safetensors`);
      await writeFile(path, bytes);
      const err = await SafetensorsFile.open(path).then(() => undefined, (e) => e);
      assert.ok(err instanceof SafetensorsError, `${label}: ${err}`);
      assert.ok(
        err.message.startsWith(`${path}: not a valid safetensors file: `),
        `${label}: ${err.message}`,
      );
      assert.match(err.message, problem, label);
      await assert.rejects(readHeader(path), SafetensorsError);
    }
    await assert.rejects(
      SafetensorsFile.open(join(dir, "missing.safetensors")),
      /missing\.safetensors: cannot open/,
    );
    await assert.rejects(SafetensorsFile.open(dir), new RegExp(`${dir}: cannot read: not a regular file`));
  });
});

Deno.test("safetensors: a file truncated after opening fails the read with an error naming it", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "t.safetensors");
    await writeSafetensors(path, { w: { dtype: "F32", shape: [1000], data: new Float32Array(1000) } });
    const f = await SafetensorsFile.open(path);
    try {
      await Deno.truncate(path, f.dataStart + 100);
      await assert.rejects(
        f.readRaw("w"),
        (e: Error) =>
          e instanceof SafetensorsError && e.message.includes(path) && /file ended early/.test(e.message),
      );
    } finally {
      f.close();
    }
  });
});

Deno.test("safetensors: the writer refuses bad metadata, dtypes, shapes and data sizes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "bad.safetensors");
    const w: TensorData = { dtype: "F32", shape: [1], data: new Float32Array(1) };
    await assert.rejects(
      writeSafetensors(path, { w }, { n: 1 } as unknown as Record<string, string>),
      /bad\.safetensors: metadata value of "n" must be a string, not 1/,
    );
    await assert.rejects(
      writeSafetensors(path, { w }, { o: { a: "b" } } as unknown as Record<string, string>),
      /metadata value of "o" must be a string/,
    );
    await assert.rejects(
      writeSafetensors(path, { x: { ...w, dtype: "F8" } as unknown as TensorData }),
      /tensor "x" has unknown dtype "F8"/,
    );
    await assert.rejects(
      writeSafetensors(path, { x: { ...w, shape: [1.5] } }),
      /tensor "x" has an invalid shape \[1.5\]/,
    );
    await assert.rejects(writeSafetensors(path, { x: { ...w, shape: [-1] } }), /invalid shape \[-1\]/);
    await assert.rejects(writeSafetensors(path, { __metadata__: w }), /reserved for the metadata/);
    await assert.rejects(writeSafetensors(path, { "\ud800": w }), /unpaired surrogate/);
    await assert.rejects(
      writeSafetensors(path, { w }, { k: "\udc00" }),
      /metadata "k" has an unpaired surrogate/,
    );
    await assert.rejects(
      writeSafetensors(path, { x: { ...w, shape: [2] } }),
      /tensor "x" has 4 bytes of data, its dtype and shape need 8/,
    );
    assert.deepEqual(await readdir(dir), [], "nothing left behind");
  });
});

Deno.test("safetensors: writes are atomic: a failing lazy tensor leaves the old file and no temp file", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "model.safetensors");
    await writeSafetensors(path, { old: { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) } });
    const before = await readFile(path);
    let produced = 0;
    const err = await writeSafetensors(path, {
      a: { dtype: "F32", shape: [1024], data: () => (produced++, Promise.resolve(new Float32Array(1024))) },
      b: { dtype: "F32", shape: [1], data: () => Promise.reject(new Error("GPU lost")) },
    }).then(() => undefined, (e) => e);
    assert.equal(produced, 1, "tensors are produced one at a time, in file order");
    assert.match(String(err?.message), /model\.safetensors: producing tensor "b" failed: GPU lost/);
    assert.deepEqual(await readdir(dir), ["model.safetensors"]);
    assert.deepEqual(await readFile(path), before);
    // A new file at a fresh path does not appear either.
    await assert.rejects(writeSafetensors(join(dir, "new.safetensors"), {
      b: { dtype: "F32", shape: [1], data: () => Promise.reject(new Error("nope")) },
    }));
    assert.deepEqual(await readdir(dir), ["model.safetensors"]);
  });
});

Deno.test("safetensors: writeAtomically names the path when the folder is missing or the target is a folder", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "no", "such", "dir", "out.safetensors");
    const w: Record<string, TensorData> = { w: { dtype: "F32", shape: [1], data: new Float32Array(1) } };
    await assert.rejects(
      writeSafetensors(path, w),
      (e: Error) =>
        e.message === `${path}: cannot write: directory ${join(dir, "no", "such", "dir")} does not exist`,
    );
    await writeFile(join(dir, "file"), "x");
    await assert.rejects(
      writeSafetensors(join(dir, "file", "out.safetensors"), w),
      /file\/out\.safetensors: cannot write: .*file is not a directory/,
    );
    await mkdir(join(dir, "taken"));
    await assert.rejects(
      writeSafetensors(join(dir, "taken"), w),
      new RegExp(`${dir}/taken: cannot replace the file`),
    );
    assert.deepEqual((await readdir(dir)).sort(), ["file", "taken"]);
    let wrote = false;
    await writeAtomically(join(dir, "note.txt"), async (fh) => {
      await fh.write(new TextEncoder().encode("hi"));
      wrote = true;
    });
    assert.ok(wrote);
    assert.equal(await readFile(join(dir, "note.txt"), "utf8"), "hi");
  });
});

Deno.test("safetensors: a 5 GB (sparse) file opens from its header and reads a tensor past 4 GiB", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "huge.safetensors");
    const big = 5_000_000_000;
    const header = JSON.stringify({
      big: { dtype: "U8", shape: [big], data_offsets: [0, big] },
      tail: { dtype: "F32", shape: [1], data_offsets: [big, big + 4] },
    });
    await writeFile(path, fileBytes(header));
    const size = 8 + header.length + big + 4;
    await Deno.truncate(path, size); // sparse: no disk space, and reading it whole would take seconds
    const fh = await Deno.open(path, { write: true });
    await fh.seek(size - 4, Deno.SeekMode.Start);
    await fh.write(new Uint8Array(new Float32Array([2.5]).buffer));
    fh.close();
    const f = await SafetensorsFile.open(path);
    try {
      assert.equal(f.entry("tail").start, 8 + header.length + big);
      assert.deepEqual([...await f.readFloat32("tail")], [2.5]);
    } finally {
      f.close();
    }
  });
});
