/**
 * Child process of the formats benchmark: loads a checkpoint, reads every cross-attention to_k/to_v and
 * the first text encoder as float32, and prints timings and its own peak resident memory as JSON.
 *
 * @module
 */
import { loadCheckpoint } from "../src/formats/checkpoint.ts";

const t0 = performance.now();
const ckpt = await loadCheckpoint(Deno.args[0]);
const tOpen = performance.now();
let bytes = 0;
for (const l of ckpt.crossAttention) {
  for (const n of [l.toK, l.toV]) bytes += (await ckpt.unet.readFloat32(n)).byteLength;
}
const tKV = performance.now();
const te = ckpt.textEncoders[0];
for (const n of te.names()) bytes += (await te.readFloat32(n)).byteLength;
const tTE = performance.now();
ckpt.close();
const status = await Deno.readTextFile("/proc/self/status");
const hwm = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) * 1024;
console.log(JSON.stringify({
  openS: (tOpen - t0) / 1000,
  kvS: (tKV - tOpen) / 1000,
  textEncoderS: (tTE - tKV) / 1000,
  totalS: (tTE - t0) / 1000,
  f32Bytes: bytes,
  peakRssBytes: hwm,
}));
