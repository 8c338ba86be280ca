/**
 * Benchmarks of the safetensors layer: header parsing at SDXL scale (~2,500 tensors), and read
 * throughput from the page cache of a ~200 MB synthetic file (raw bytes and F16 → F32 conversion).
 *
 * Run alone: `deno run -A bench/safetensors.ts`.
 *
 * @module
 */
import { join } from "node:path";
import { toFloat32 } from "../src/formats/dtype.ts";
import {
  parseHeader,
  SafetensorsFile,
  type TensorData,
  writeSafetensors,
} from "../src/formats/safetensors.ts";
import type { BenchRow, BenchSuite } from "./types.ts";
import { printRows } from "./print.ts";

/** Median of `reps` timings of `fn`, in milliseconds. */
async function medianMs(reps: number, fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** A header shaped like an SDXL UNet checkpoint's: ~2,500 F16 tensors with long dotted names. */
function sdxlLikeHeader(): { json: string; bytes: number; dataBytes: number; tensors: number } {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0, count = 0;
  const add = (name: string, shape: number[]): void => {
    const size = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: "F16", shape, data_offsets: [offset, offset + size] };
    offset += size;
    count++;
  };
  for (let block = 0; count < 2500; block++) {
    const p = `model.diffusion_model.output_blocks.${block % 9}.1.transformer_blocks.${block}`;
    for (const a of ["attn1", "attn2"]) {
      for (const m of ["to_q", "to_k", "to_v"]) add(`${p}.${a}.${m}.weight`, [1280, 2048]);
      add(`${p}.${a}.to_out.0.weight`, [1280, 1280]);
      add(`${p}.${a}.to_out.0.bias`, [1280]);
    }
    for (const n of ["norm1", "norm2", "norm3"]) {
      add(`${p}.${n}.weight`, [1280]), add(`${p}.${n}.bias`, [1280]);
    }
    add(`${p}.ff.net.0.proj.weight`, [10240, 1280]);
    add(`${p}.ff.net.2.weight`, [1280, 5120]);
  }
  const json = JSON.stringify(header);
  return { json, bytes: new TextEncoder().encode(json).byteLength, dataBytes: offset, tensors: count };
}

async function headerRows(): Promise<BenchRow[]> {
  const h = sdxlLikeHeader();
  const fileSize = 8 + h.bytes + h.dataBytes;
  const parse = await medianMs(15, () => parseHeader("bench.safetensors", h.json, fileSize, h.bytes));
  const jsonOnly = await medianMs(15, () => JSON.parse(h.json));
  return [{
    name: `parse header (${h.tensors} tensors, ${(h.bytes / 1024).toFixed(0)} KiB)`,
    value: parse,
    unit: "ms",
    note: `${(parse / jsonOnly).toFixed(1)}× a bare JSON.parse (validation, duplicate-key scan)`,
  }];
}

async function throughputRows(): Promise<BenchRow[]> {
  const dir = await Deno.makeTempDir({ prefix: "forget-bench-st-" });
  try {
    const path = join(dir, "synthetic.safetensors");
    const tensorCount = 50, elements = 2 * 1024 * 1024; // 50 × 4 MiB F16 = 200 MiB
    const tensors: Record<string, TensorData> = {};
    for (let i = 0; i < tensorCount; i++) {
      tensors[`t.${i}`] = {
        dtype: "F16",
        shape: [elements / 1024, 1024],
        data: () => {
          const h = new Uint16Array(elements);
          for (let j = 0; j < elements; j++) h[j] = (0x3000 + ((j * 2654435761) >>> 20)) & 0x7bff; // finite halves
          return Promise.resolve(h);
        },
      };
    }
    const t0 = performance.now();
    await writeSafetensors(path, tensors, { format: "pt" });
    const writeMs = performance.now() - t0;
    const mb = (tensorCount * elements * 2) / 1e6;
    const f = await SafetensorsFile.open(path);
    try {
      const names = f.names();
      for (const n of names) await f.readRaw(n); // warm the page cache
      const raw = await medianMs(3, async () => {
        for (const n of names) await f.readRaw(n);
      });
      const f32 = await medianMs(3, async () => {
        for (const n of names) await f.readFloat32(n);
      });
      const bytes = (await f.readRaw(names[0])).bytes;
      const convert = await medianMs(9, () => toFloat32("F16", bytes));
      const convertMBs = (bytes.byteLength / 1e6) / (convert / 1000);
      return [
        {
          name: "read raw (page cache)",
          value: mb / (raw / 1000),
          unit: "MB/s",
          note: `${mb.toFixed(0)} MB F16`,
        },
        {
          name: "read F16 → F32",
          value: mb / (f32 / 1000),
          unit: "MB/s",
          note: `F16 bytes/s; ${(raw / f32).toFixed(2)}× raw read speed`,
        },
        { name: "convert F16 → F32 (in memory)", value: convertMBs, unit: "MB/s", note: "F16 bytes/s" },
        {
          name: "write (lazy tensors, fsync)",
          value: mb / (writeMs / 1000),
          unit: "MB/s",
          note: "incl. producing data",
        },
      ];
    } finally {
      f.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The "safetensors" benchmark suite. */
export const suite: BenchSuite = {
  name: "safetensors",
  async run(): Promise<BenchRow[]> {
    return [...await headerRows(), ...await throughputRows()];
  },
};

if (import.meta.main) printRows(await suite.run());
