/**
 * Fuzz-style robustness test of the safetensors reader: thousands of seeded mutations of valid files
 * (byte edits in the header, wrong length prefixes, truncations, structured JSON edits). Every case must
 * either open and read every tensor consistently, or fail with a SafetensorsError naming the file:
 * never a TypeError/RangeError, never a hang.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DTYPE_BYTES, numel } from "./dtype.ts";
import { SafetensorsError, SafetensorsFile, writeSafetensors } from "./safetensors.ts";

const FIXTURES = fileURLToPath(new URL("../../tests/fixtures/safetensors/", import.meta.url));
const CASES_PER_KIND = 500;
const CASE_TIMEOUT_MS = 5000;

/** mulberry32: a small, seedable PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Parts {
  header: Uint8Array;
  data: Uint8Array;
}

function split(file: Uint8Array): Parts {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { header: file.slice(8, 8 + n), data: file.slice(8 + n) };
}

function join3(header: Uint8Array, data: Uint8Array, length: bigint = BigInt(header.byteLength)): Uint8Array {
  const out = new Uint8Array(8 + header.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, length, true);
  out.set(header, 8);
  out.set(data, 8 + header.byteLength);
  return out;
}

const enc = new TextEncoder(), dec = new TextDecoder();

type Mutator = (file: Uint8Array, r: () => number) => Uint8Array;

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, n: number): number => Math.floor(r() * n);

/** Flip, overwrite, insert or delete a few bytes of the header, keeping or fixing the length prefix. */
const headerBytes: Mutator = (file, r) => {
  const { header, data } = split(file);
  let h = [...header];
  const edits = 1 + int(r, 3);
  for (let e = 0; e < edits; e++) {
    const at = int(r, h.length + 1);
    const byte = r() < 0.5
      ? pick(r, [0x22, 0x2c, 0x3a, 0x7b, 0x7d, 0x5b, 0x5d, 0x30, 0x39, 0x2d, 0x2e, 0x20, 0x5c])
      : int(r, 256);
    switch (int(r, 4)) {
      case 0:
        if (at < h.length) h[at] ^= 1 << int(r, 8);
        break;
      case 1:
        if (at < h.length) h[at] = byte;
        break;
      case 2:
        h = [...h.slice(0, at), byte, ...h.slice(at)];
        break;
      case 3:
        h = [...h.slice(0, at), ...h.slice(at + 1)];
        break;
    }
  }
  const nh = new Uint8Array(h);
  return join3(nh, data, r() < 0.7 ? BigInt(nh.byteLength) : BigInt(header.byteLength));
};

/** A wrong length prefix: off by a little, random, huge, or around the limits. */
const lengthPrefix: Mutator = (file, r) => {
  const { header, data } = split(file);
  const n = BigInt(header.byteLength);
  const choices = [
    n + BigInt(int(r, 9)) - 4n,
    BigInt(int(r, file.byteLength + 16)),
    0n,
    1n,
    2n,
    BigInt(file.byteLength),
    BigInt(file.byteLength - 7),
    100_000_000n,
    100_000_001n,
    2n ** 32n,
    2n ** 53n + 1n,
    2n ** 63n,
    2n ** 64n - 1n,
  ];
  let len = pick(r, choices);
  if (len < 0n) len = 0n;
  return join3(header, data, len);
};

/** Cut the file at a random position or at a boundary of interest. */
const truncate: Mutator = (file, r) => {
  const { header } = split(file);
  const boundaries = [
    0,
    1,
    7,
    8,
    9,
    8 + header.byteLength - 1,
    8 + header.byteLength,
    8 + header.byteLength + 1,
    file.byteLength - 1,
  ];
  const at = r() < 0.5 ? pick(r, boundaries) : int(r, file.byteLength);
  return file.slice(0, Math.max(0, Math.min(at, file.byteLength - 1)));
};

const WEIRD_VALUES: readonly unknown[] = [
  -1,
  -8,
  1.5,
  1e20,
  2 ** 53,
  2 ** 53 + 2,
  "4",
  null,
  true,
  [],
  {},
  [1, 2],
  { a: 1 },
  0,
  3,
  1e400,
  -0,
];
const DTYPES: readonly unknown[] = [
  "F32",
  "F16",
  "BF16",
  "F64",
  "I64",
  "I32",
  "I16",
  "I8",
  "U8",
  "BOOL",
  "F8_E4M3",
  "U16",
  "f32",
  "",
  4,
  null,
];

/** Structured edits of the parsed header, re-serialized (sometimes with a raw-text twist). */
const jsonEdit: Mutator = (file, r) => {
  const { header, data } = split(file);
  const obj = JSON.parse(dec.decode(header)) as Record<string, Record<string, unknown>>;
  const names = Object.keys(obj).filter((k) => k !== "__metadata__");
  const name = pick(r, names);
  const t = obj[name] as { dtype: unknown; shape: unknown[]; data_offsets: unknown[] };
  let newData = data;
  let text: string | undefined;
  switch (int(r, 14)) {
    case 0:
      t.dtype = pick(r, DTYPES);
      break;
    case 1:
      t.data_offsets[int(r, 2)] = pick(r, WEIRD_VALUES);
      break;
    case 2: {
      const shift = int(r, 17) - 8;
      t.data_offsets = t.data_offsets.map((o) => (o as number) + shift);
      break;
    }
    case 3:
      t.data_offsets = [t.data_offsets[1], t.data_offsets[0]];
      break;
    case 4:
      if (t.shape.length && r() < 0.5) t.shape[int(r, t.shape.length)] = pick(r, WEIRD_VALUES);
      else t.shape = r() < 0.5 ? [...t.shape, pick(r, [0, 1, 2, 3])] : t.shape.slice(1);
      break;
    case 5: {
      // make two tensors overlap: give this tensor another's offsets
      const other = obj[pick(r, names)] as { data_offsets: unknown[] };
      t.data_offsets = [...other.data_offsets];
      break;
    }
    case 6:
      // a gap: grow the data buffer without touching the header, or at the front
      newData = new Uint8Array(data.byteLength + 1 + int(r, 8));
      newData.set(data, r() < 0.5 ? 0 : newData.byteLength - data.byteLength);
      break;
    case 7:
      obj.__metadata__ = pick(r, [
        { a: { b: "c" } },
        { a: 1 },
        ["x"],
        "s",
        { a: null },
        { a: "ok", b: ["x"] },
        null,
        {},
      ]) as Record<string, unknown>;
      break;
    case 8:
      delete (t as Record<string, unknown>)[pick(r, ["dtype", "shape", "data_offsets"])];
      break;
    case 9:
      obj[name] = pick(r, [null, 1, "x", [], [1, 2]] as unknown[]) as Record<string, unknown>;
      break;
    case 10:
      // a duplicate key, at the top level or inside a tensor
      text = JSON.stringify(obj);
      text = r() < 0.5
        ? `{${JSON.stringify(name)}:${JSON.stringify(t)},${text.slice(1)}`
        : text.replace('"dtype":', `"dtype":${JSON.stringify(t.dtype)},"dtype":`);
      break;
    case 11:
      // spell an integer as a float or with an exponent
      text = JSON.stringify(obj).replace(
        /("data_offsets":\[\d+,)(\d+)\]/,
        (_, a, b) => `${a}${pick(r, [`${b}.0`, `${b}e0`, `-${b}`, `0${b}`])}]`,
      );
      break;
    case 12:
      // drop bytes from the data buffer, or add some
      newData = r() < 0.5
        ? data.slice(0, Math.max(0, data.byteLength - 1 - int(r, 8)))
        : new Uint8Array([...data, 0, 0]);
      break;
    case 13:
      delete obj[name];
      break;
  }
  text ??= JSON.stringify(obj);
  if (r() < 0.3) text = " ".repeat(int(r, 3)) + text + " ".repeat(int(r, 9));
  return join3(enc.encode(text), newData);
};

async function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: no answer within ${ms} ms (hang?)`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens `path` (holding `bytes`) and reads every tensor; returns "ok" or "error", throws on a bug. */
async function check(path: string, bytes: Uint8Array): Promise<"ok" | "error"> {
  let f: SafetensorsFile;
  try {
    f = await SafetensorsFile.open(path);
  } catch (e) {
    if (!(e instanceof SafetensorsError)) {
      throw new Error(`wrong error type ${(e as Error)?.name}: ${e}`, { cause: e });
    }
    if (!e.message.includes(path)) throw new Error(`error does not name the file: ${e.message}`);
    return "error";
  }
  try {
    let covered = f.dataStart;
    for (const name of f.names()) {
      const e = f.entry(name);
      const raw = await f.readRaw(name);
      const n = numel(raw.shape);
      assert.equal(raw.bytes.byteLength, n * DTYPE_BYTES[raw.dtype], name);
      assert.deepEqual(raw.bytes, bytes.subarray(e.start, e.end), name);
      assert.equal((await f.readFloat32(name)).length, n, name);
      assert.equal(e.start, covered, "tensors tile the data buffer");
      covered = e.end;
    }
    assert.equal(covered, bytes.byteLength, "tensors cover the file");
    return "ok";
  } finally {
    f.close();
  }
}

Deno.test("safetensors fuzz: mutated headers and truncated files end in a clear error or a consistent read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "forget-fuzz-" });
  try {
    const small = join(dir, "small.safetensors");
    await writeSafetensors(small, {
      "a.weight": { dtype: "F16", shape: [3, 2], data: new Uint16Array([1, 2, 3, 4, 5, 6]) },
      "b.bias": { dtype: "F32", shape: [2], data: new Float32Array([1, 2]) },
      "c.ids": { dtype: "I64", shape: [1, 3], data: new BigInt64Array([0n, 1n, 2n]) },
      "d.scalar": { dtype: "BF16", shape: [], data: new Uint16Array([0x3f80]) },
      "e.empty": { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
      "f.mask": { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
    }, { format: "pt" });
    const seeds: Uint8Array[] = [
      await Deno.readFile(small),
      readFileSync(FIXTURES + "unaligned.safetensors"),
      readFileSync(FIXTURES + "writer_reference.safetensors"),
    ];
    const mutators: [string, Mutator][] = [
      ["header bytes", headerBytes],
      ["length prefix", lengthPrefix],
      ["truncate", truncate],
      ["json edit", jsonEdit],
    ];
    const path = join(dir, "case.safetensors");
    const tally: Record<string, { ok: number; error: number }> = {};
    const started = performance.now();
    for (const [kind, mutate] of mutators) {
      tally[kind] = { ok: 0, error: 0 };
      for (let i = 0; i < CASES_PER_KIND; i++) {
        const seed = (kind.length * 100_003 + i) >>> 0;
        const r = rng(seed);
        const bytes = mutate(pick(r, seeds), r);
        Deno.writeFileSync(path, bytes);
        const label = `${kind} case ${i} (seed ${seed})`;
        try {
          tally[kind][await withTimeout(check(path, bytes), CASE_TIMEOUT_MS, label)]++;
        } catch (e) {
          throw new Error(`${label}: ${(e as Error).message}`, { cause: e });
        }
      }
    }
    // Each kind must hit the error paths; structured edits must also produce some valid files.
    for (const [kind, t] of Object.entries(tally)) {
      assert.ok(t.error > CASES_PER_KIND / 4, `${kind}: ${JSON.stringify(t)}`);
    }
    assert.ok(tally["json edit"].ok > 0 && tally["header bytes"].ok > 0, JSON.stringify(tally));
    console.log(`fuzz: ${JSON.stringify(tally)} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
