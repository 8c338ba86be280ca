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

/**
 * Parses and validates a safetensors header. `json` is the header text, `fileSize` the whole file's size.
 * Throws {@linkcode SafetensorsError} on any violation of the format.
 *
 * @example
 * ```ts
 * import { parseHeader } from "./safetensors.ts";
 * const json = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
 * parseHeader("w.safetensors", json, 8 + json.length + 8).tensors[0].start; // 8 + json.length
 * ```
 */
export function parseHeader(path: string, json: string, fileSize: number): SafetensorsHeader {
  const fail = (problem: string): never => {
    throw new SafetensorsError(path, problem);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    fail("header is not a JSON object");
  }
  const dataStart = 8 + new TextEncoder().encode(json).byteLength;
  const metadata: Record<string, string> = {};
  const tensors: TensorEntry[] = [];
  for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        fail("__metadata__ is not an object of strings");
      }
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__ value of "${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== "object" || t === null) fail(`tensor "${name}" is not an object`);
    if (!isDType(t.dtype)) {
      fail(`tensor "${name}" has unknown or unsupported dtype ${JSON.stringify(t.dtype)}`);
    }
    const dtype = t.dtype as DType;
    const shape = t.shape;
    if (
      !Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)
    ) fail(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    const offs = t.data_offsets;
    if (
      !Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) ||
      offs[0] > offs[1]
    ) fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
    const [b, e] = offs as number[];
    const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
    if (e - b !== expected) {
      fail(
        `tensor "${name}" (${dtype} ${
          JSON.stringify(shape)
        }) needs ${expected} bytes but its data_offsets span ${e - b}`,
      );
    }
    tensors.push({ name, dtype, shape: shape as number[], start: dataStart + b, end: dataStart + e });
  }
  tensors.sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = dataStart;
  for (const t of tensors) {
    if (t.start < cursor) fail(`tensor "${t.name}" overlaps the tensor before it`);
    if (t.start > cursor) fail(`a gap of ${t.start - cursor} bytes lies before tensor "${t.name}"`);
    if (t.end > fileSize) fail(`tensor "${t.name}" ends past the end of the file (truncated file?)`);
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
  const { size } = await fh.stat();
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
    json = new TextDecoder("utf-8", { fatal: true }).decode(headerBuf);
  } catch {
    throw new SafetensorsError(path, "header is not valid UTF-8");
  }
  return parseHeader(path, json, size);
}

async function readExactly(fh: FileHandle, buf: Uint8Array, position: number, path: string): Promise<void> {
  let done = 0;
  while (done < buf.byteLength) {
    const { bytesRead } = await fh.read(buf, done, buf.byteLength - done, position + done);
    if (bytesRead === 0) throw new SafetensorsError(path, "file ended early (truncated)");
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
 * Writes a safetensors file atomically: to a temporary file beside `path`, then renamed over it.
 * Tensors are ordered by descending element size, then name (as the reference writer does), the header
 * is padded with spaces to a multiple of 8 bytes, and lazy tensor data is produced one tensor at a time,
 * so a multi-gigabyte checkpoint never sits in memory whole. On failure nothing is left behind.
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
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== "string") throw new Error(`${path}: metadata value of "${k}" must be a string`);
  }
  const names = Object.keys(tensors).sort((a, b) =>
    DTYPE_BYTES[tensors[b].dtype] - DTYPE_BYTES[tensors[a].dtype] || (a < b ? -1 : a > b ? 1 : 0)
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  const sizes: number[] = [];
  for (const name of names) {
    const t = tensors[name];
    if (!isDType(t.dtype)) throw new Error(`${path}: tensor "${name}" has unknown dtype ${t.dtype}`);
    const size = numel(t.shape) * DTYPE_BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    sizes.push(size);
    offset += size;
  }
  let headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(headerBytes.byteLength / 8) * 8;
  if (padded !== headerBytes.byteLength) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(headerBytes);
    headerBytes = p;
  }
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  await writeAtomically(path, async (fh) => {
    await fh.write(prefix);
    await fh.write(headerBytes);
    for (let i = 0; i < names.length; i++) {
      const d = tensors[names[i]].data;
      const bytes = asBytes(typeof d === "function" ? await d() : d);
      if (bytes.byteLength !== sizes[i]) {
        throw new Error(
          `${path}: tensor "${names[i]}" has ${bytes.byteLength} bytes of data, its dtype and shape need ${
            sizes[i]
          }`,
        );
      }
      await fh.write(bytes);
    }
  });
}

/**
 * Runs `fill` on a temporary file in the directory of `path`, then renames it to `path`.
 * If `fill` throws, the temporary file is removed and `path` is untouched.
 *
 * @example
 * ```ts ignore
 * import { writeAtomically } from "./safetensors.ts";
 * await writeAtomically("notes.txt", async (fh) => { await fh.write(new TextEncoder().encode("hi")); });
 * ```
 */
export async function writeAtomically(path: string, fill: (fh: FileHandle) => Promise<void>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.partial`);
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, "wx");
    await fill(fh);
    await fh.close();
    fh = undefined;
    await rename(tmp, path);
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
}
