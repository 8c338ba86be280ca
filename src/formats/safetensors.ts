/**
 * safetensors: a streaming reader that validates the header as the format specifies and reads one
 * tensor at a time from its byte range, and an atomic writer.
 *
 * Layout: 8-byte little-endian header length N, N bytes of JSON, then the data buffer. Tensor
 * `data_offsets` are relative to the data buffer and must tile it exactly, in order, with no holes.
 *
 * @module
 */
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type DType, DTYPE_BYTES, isDType, numel, toFloat32 } from "./dtype.ts";
import { findJsonProblem } from "./json_scan.ts";
import { MissingTensorError, type RawTensor, type TensorMeta, type TensorSource } from "./tensor_source.ts";

/** Largest header accepted, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where a tensor lies in a safetensors file. */
export interface TensorEntry extends TensorMeta {
  /** Tensor name. */
  name: string;
  /** Absolute byte offset of the first element in the file. */
  start: number;
  /** Absolute byte offset one past the last element. */
  end: number;
}

/** An invalid or unreadable safetensors file; the message names the file and the problem. */
export class SafetensorsError extends Error {
  /** Creates the error for `path`. */
  constructor(path: string, problem: string) {
    super(`${path}: not a valid safetensors file: ${problem}`);
    this.name = "SafetensorsError";
  }
}

/** The parsed header: tensors in file order and the `__metadata__` strings. */
export interface SafetensorsHeader {
  /** Tensors sorted by their position in the data buffer. */
  tensors: TensorEntry[];
  /** The `__metadata__` map (empty when absent). */
  metadata: Record<string, string>;
  /** Absolute offset of the data buffer (8 + header length). */
  dataStart: number;
}

/** Keys whose array values must hold plain unsigned integers, as the reference's `usize` fields do. */
const INTEGER_ARRAY_KEYS: ReadonlySet<string> = new Set(["shape", "data_offsets"]);

/** A JSON value for an error message, cut short so a mangled header cannot flood the message. */
function show(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates a safetensors header. `json` is the header text, `fileSize` the whole file's size,
 * `headerBytes` the header's length in bytes as stored in the length prefix (computed from `json` when
 * omitted). Throws {@linkcode SafetensorsError} on any violation of the format.
 *
 * Checks, as the reference implementation does: the header is a JSON object; `__metadata__` (if present
 * and not null) maps strings to strings; every tensor has a known dtype, a shape of unsigned integers and
 * `data_offsets` `[begin, end]` with `end - begin` equal to its byte size; the tensors, in offset order,
 * tile the data buffer from 0 to the end of the file with no gap or overlap. Unlike the reference (which
 * silently keeps the last), a key repeated anywhere in the header is an error: the file is ambiguous.
 *
 * @example
 * ```ts
 * import { parseHeader } from "./safetensors.ts";
 * const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
 * parseHeader("w.safetensors", json, 8 + json.length + 8).tensors[0].start; // 8 + json.length
 * ```
 */
export function parseHeader(
  path: string,
  json: string,
  fileSize: number,
  headerBytes?: number,
): SafetensorsHeader {
  const fail = (problem: string): never => {
    throw new SafetensorsError(path, problem);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) fail(`header is ${show(parsed)}, not a JSON object`);
  const problem = findJsonProblem(json, INTEGER_ARRAY_KEYS);
  if (problem) fail(`header: ${problem}`);
  const dataStart = 8 + (headerBytes ?? new TextEncoder().encode(json).byteLength);
  let metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (value === null) continue; // the reference accepts an explicit null as "no metadata"
      if (!isPlainObject(value)) fail(`__metadata__ is ${show(value)}, not an object of strings`);
      const entries = Object.entries(value as Record<string, unknown>);
      for (const [k, v] of entries) {
        if (typeof v !== "string") fail(`__metadata__ value of ${show(k)} is ${show(v)}, not a string`);
      }
      // fromEntries defines own properties, so even a key named "__proto__" survives.
      metadata = Object.fromEntries(entries) as Record<string, string>;
      continue;
    }
    const label = `tensor ${show(name)}`;
    // JSON.parse lets "\ud800" escapes make strings that are not Unicode; the reference rejects them.
    if (!name.isWellFormed()) fail(`${label} has a name with an unpaired surrogate escape`);
    if (!isPlainObject(value)) fail(`${label} is ${show(value)}, not an object`);
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!isDType(t.dtype)) fail(`${label} has unknown or unsupported dtype ${show(t.dtype)}`);
    const dtype = t.dtype as DType;
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${label} has an invalid shape ${show(shape)}`);
    }
    const offs = t.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) fail(`${label} has invalid data_offsets ${show(offs)}`);
    const [b, e] = offs as number[];
    if (b > e) fail(`${label} has data_offsets ${show(offs)} that end before they begin`);
    const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
    if (e - b !== expected) {
      fail(`${label} (${dtype} ${show(shape)}) needs ${expected} bytes but its data_offsets span ${e - b}`);
    }
    tensors.push({ name, dtype, shape: shape as number[], start: dataStart + b, end: dataStart + e });
  }
  tensors.sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = dataStart;
  for (const t of tensors) {
    if (t.start < cursor) fail(`tensor ${show(t.name)} overlaps the tensor before it`);
    if (t.start > cursor) fail(`a gap of ${t.start - cursor} bytes lies before tensor ${show(t.name)}`);
    if (t.end > fileSize) {
      fail(
        `tensor ${show(t.name)} ends ${t.end - fileSize} bytes past the end of the file (truncated file?)`,
      );
    }
    cursor = t.end;
  }
  if (cursor !== fileSize) {
    fail(
      cursor > fileSize
        ? `data section is truncated (${cursor - fileSize} bytes missing)`
        : `${fileSize - cursor} bytes follow the last tensor`,
    );
  }
  return { tensors, metadata, dataStart };
}

/**
 * Reads only the header of a safetensors file (8 bytes + N), validating it.
 *
 * @example
 * ```ts ignore
 * import { readHeader } from "./safetensors.ts";
 * const { tensors, metadata } = await readHeader("model.safetensors");
 * ```
 */
export async function readHeader(path: string): Promise<SafetensorsHeader> {
  const fh = await openForRead(path);
  try {
    return await readHeaderFrom(fh, path);
  } finally {
    await fh.close();
  }
}

async function openForRead(path: string): Promise<FileHandle> {
  try {
    return await open(path, "r");
  } catch (e) {
    throw new Error(`${path}: cannot open: ${(e as Error).message}`);
  }
}

async function readHeaderFrom(fh: FileHandle, path: string): Promise<SafetensorsHeader> {
  let size: number;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (e) {
    throw new Error(`${path}: cannot read: ${(e as Error).message}`);
  }
  if (size < 8) {
    throw new SafetensorsError(path, `file is ${size} bytes, shorter than the 8-byte header length`);
  }
  const lenBuf = new Uint8Array(8);
  await readExactly(fh, lenBuf, 0, path);
  const n = new DataView(lenBuf.buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(path, `header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
  }
  if (Number(n) + 8 > size) {
    throw new SafetensorsError(path, `header length ${n} is larger than the file (${size} bytes)`);
  }
  if (n < 2n) throw new SafetensorsError(path, `header length ${n} is too small for a JSON object`);
  const headerBuf = new Uint8Array(Number(n));
  await readExactly(fh, headerBuf, 8, path);
  let json: string;
  try {
    // ignoreBOM keeps a leading byte-order mark in the text, so JSON.parse rejects it as the reference does
    // (the default would drop it silently and shift every offset by 3 bytes).
    json = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(headerBuf);
  } catch {
    throw new SafetensorsError(path, "header is not valid UTF-8");
  }
  return parseHeader(path, json, size, headerBuf.byteLength);
}

async function readExactly(fh: FileHandle, buf: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    let bytesRead: number;
    try {
      // At most 1 GiB per call: Node-style read() refuses lengths of 2 GiB and more.
      const length = Math.min(buf.byteLength - done, 1 << 30);
      ({ bytesRead } = await fh.read(buf, done, length, position + done));
    } catch (e) {
      throw new Error(
        `${path}: cannot read ${buf.byteLength} bytes at offset ${position}: ${(e as Error).message}`,
      );
    }
    if (bytesRead === 0) {
      throw new SafetensorsError(
        path,
        `file ended early at byte ${position + done} (truncated, or changed since opened)`,
      );
    }
    done += bytesRead;
  }
}

/**
 * An open safetensors file. Only the header is read on open; each tensor is read from its own byte
 * range when asked for, so multi-gigabyte checkpoints are never loaded whole.
 *
 * @example
 * ```ts ignore
 * import { SafetensorsFile } from "./safetensors.ts";
 * const f = await SafetensorsFile.open("v1-5-pruned-emaonly.safetensors");
 * const w = await f.readFloat32("model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight");
 * f.close();
 * ```
 */
export class SafetensorsFile implements TensorSource {
  /** Path the file was opened from. */
  readonly path: string;
  /** The `__metadata__` strings. */
  readonly metadata: Record<string, string>;
  /** Absolute offset of the data buffer. */
  readonly dataStart: number;
  readonly #entries: Map<string, TensorEntry>;
  #fh: FileHandle | null;

  private constructor(path: string, fh: FileHandle, header: SafetensorsHeader) {
    this.path = path;
    this.metadata = header.metadata;
    this.dataStart = header.dataStart;
    this.#entries = new Map(header.tensors.map((t) => [t.name, t]));
    this.#fh = fh;
  }

  /** Opens and validates `path`. */
  static async open(path: string): Promise<SafetensorsFile> {
    const fh = await openForRead(path);
    try {
      return new SafetensorsFile(path, fh, await readHeaderFrom(fh, path));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Tensor names in file order. */
  names(): string[] {
    return [...this.#entries.keys()];
  }

  /** Whether the file holds a tensor of that name. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** Where a tensor lies in the file. */
  entry(name: string): TensorEntry {
    const e = this.#entries.get(name);
    if (!e) throw new MissingTensorError(name, this.path);
    return e;
  }

  /** dtype and shape of a tensor. */
  info(name: string): TensorMeta {
    const e = this.entry(name);
    return { dtype: e.dtype, shape: [...e.shape] };
  }

  /** The tensor's stored bytes. */
  async readRaw(name: string): Promise<RawTensor> {
    const e = this.entry(name);
    if (!this.#fh) throw new Error(`${this.path}: file is closed`);
    const bytes = new Uint8Array(e.end - e.start);
    await readExactly(this.#fh, bytes, e.start, this.path);
    return { dtype: e.dtype, shape: [...e.shape], bytes };
  }

  /** The tensor converted to float32. */
  async readFloat32(name: string): Promise<Float32Array> {
    const raw = await this.readRaw(name);
    return toFloat32(raw.dtype, raw.bytes);
  }

  /** Releases the file handle. Further reads fail. */
  close(): void {
    const fh = this.#fh;
    this.#fh = null;
    fh?.close().catch(() => {});
  }
}

/** A tensor to write: dtype, shape and its little-endian bytes (or a function producing them). */
export interface TensorData extends TensorMeta {
  /** Raw element bytes of `dtype`, or a typed array viewed as bytes, or a lazy producer of either. */
  data: ArrayBufferView | (() => Promise<ArrayBufferView>);
}

function asBytes(v: ArrayBufferView): Uint8Array {
  return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * Rank of each dtype in the reference writer's ordering: the declaration order of its `Dtype` enum
 * (`BOOL < U8 < I8 < I16 < F16 < BF16 < I32 < F32 < F64 < I64` for the dtypes we support). The reference
 * sorts tensors by descending rank, so I64 precedes F64 and BF16 precedes F16.
 */
const REFERENCE_DTYPE_RANK: Readonly<Record<DType, number>> = {
  BOOL: 0,
  U8: 1,
  I8: 2,
  I16: 3,
  F16: 4,
  BF16: 5,
  I32: 6,
  F32: 7,
  F64: 8,
  I64: 9,
};

/** Compares strings by their UTF-8 bytes, as Rust's `str` ordering does (UTF-16 order differs above U+FFFF). */
function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const ea = new TextEncoder().encode(a), eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i] - eb[i];
  return ea.length - eb.length;
}

async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.byteLength) {
    const length = Math.min(bytes.byteLength - done, 1 << 30); // Node-style write() takes < 2 GiB per call
    const { bytesWritten } = await fh.write(bytes, done, length);
    if (bytesWritten <= 0) throw new Error(`write made no progress after ${done} bytes`);
    done += bytesWritten;
  }
}

/**
 * Writes a safetensors file atomically: to a temporary file beside `path`, then renamed over it.
 * The bytes match the reference writer (`safetensors.torch.save_file`) for the same tensors and at most
 * one metadata entry (the reference orders several in hash order): tensors sorted by descending dtype
 * rank, then name; `__metadata__` first; the header padded with spaces to a multiple of 8 bytes. Lazy
 * tensor data is produced one tensor at a time, so a multi-gigabyte checkpoint never sits in memory
 * whole. On failure nothing is left behind and an existing file at `path` is untouched.
 *
 * @example
 * ```ts ignore
 * import { writeSafetensors } from "./safetensors.ts";
 * await writeSafetensors("out.safetensors", {
 *   w: { dtype: "F32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
 * }, { format: "pt" });
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorData>,
  metadata: Record<string, string> = {},
): Promise<void> {
  if (!isPlainObject(metadata)) throw new Error(`${path}: metadata must be an object of strings`);
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") {
      throw new Error(`${path}: metadata value of ${show(k)} must be a string, not ${show(v)}`);
    }
    if (!k.isWellFormed() || !v.isWellFormed()) {
      throw new Error(`${path}: metadata ${show(k)} has an unpaired surrogate`);
    }
  }
  for (const [name, t] of Object.entries(tensors)) {
    const label = `${path}: tensor ${show(name)}`;
    if (name === "__metadata__") throw new Error(`${label}: that name is reserved for the metadata`);
    if (!name.isWellFormed()) {
      throw new Error(`${label}: the name has an unpaired surrogate, not valid UTF-8`);
    }
    if (!isDType(t?.dtype)) throw new Error(`${label} has unknown dtype ${show(t?.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new Error(`${label} has an invalid shape ${show(t.shape)}`);
    }
  }
  const names = Object.keys(tensors).sort((a, b) =>
    REFERENCE_DTYPE_RANK[tensors[b].dtype] - REFERENCE_DTYPE_RANK[tensors[a].dtype] || compareUtf8(a, b)
  );
  // The header text is assembled by hand: a JS object would move integer-like names ("0", "12") ahead of
  // all others, including __metadata__, and lose the reference order.
  const entries: string[] = [];
  const metaEntries = Object.entries(metadata);
  if (metaEntries.length) {
    entries.push(
      `"__metadata__":{${
        metaEntries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")
      }}`,
    );
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const name of names) {
    const t = tensors[name];
    const size = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (!Number.isSafeInteger(offset + size)) throw new Error(`${path}: tensor ${show(name)} is too large`);
    const info = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    entries.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    sizes.push(size);
    offset += size;
  }
  let headerBytes = new TextEncoder().encode(`{${entries.join(",")}}`);
  const padded = Math.ceil(headerBytes.byteLength / 8) * 8;
  if (padded !== headerBytes.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(headerBytes);
    headerBytes = p;
  }
  if (headerBytes.byteLength > MAX_HEADER_BYTES) {
    throw new Error(
      `${path}: header would be ${headerBytes.byteLength} bytes, over the ${MAX_HEADER_BYTES}-byte limit`,
    );
  }
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  await writeAtomically(path, async (fh) => {
    await writeAll(fh, prefix);
    await writeAll(fh, headerBytes);
    for (let i = 0; i < names.length; i++) {
      const d = tensors[names[i]].data;
      let view: ArrayBufferView;
      try {
        view = typeof d === "function" ? await d() : d;
      } catch (e) {
        throw new Error(`${path}: producing tensor ${show(names[i])} failed: ${(e as Error)?.message ?? e}`, {
          cause: e,
        });
      }
      if (!ArrayBuffer.isView(view)) {
        throw new Error(`${path}: tensor ${show(names[i])} data is ${show(view)}, not a typed array`);
      }
      const bytes = asBytes(view);
      if (bytes.byteLength !== sizes[i]) {
        throw new Error(
          `${path}: tensor ${
            show(names[i])
          } has ${bytes.byteLength} bytes of data, its dtype and shape need ${sizes[i]}`,
        );
      }
      await writeAll(fh, bytes);
    }
  });
}

/**
 * Runs `fill` on a temporary file in the directory of `path`, flushes it to disk, then renames it to
 * `path`. If anything fails, the temporary file is removed, `path` is untouched, and the error names
 * `path`. A missing directory is reported as such (it is not created).
 *
 * @example
 * ```ts ignore
 * import { writeAtomically } from "./safetensors.ts";
 * await writeAtomically("notes.txt", async (fh) => { await fh.write(new TextEncoder().encode("hi")); });
 * ```
 */
export async function writeAtomically(path: string, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.partial`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, "wx");
  } catch (e) {
    const code = (e as { code?: string }).code;
    let why = (e as Error).message;
    if (code === "ENOENT") why = `directory ${dir} does not exist`;
    else if (code === "ENOTDIR") why = `${dir} is not a directory`;
    else if (code === "EACCES" || code === "EPERM") why = `no permission to create files in ${dir}`;
    throw new Error(`${path}: cannot write: ${why}`);
  }
  try {
    await fill(fh);
    await fh.datasync();
    await fh.close();
    fh = undefined;
    try {
      await rename(tmp, path);
    } catch (e) {
      throw new Error(`${path}: cannot replace the file: ${(e as Error).message}`);
    }
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}
