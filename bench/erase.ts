/**
 * Benchmark of closed-form erasure on a full-size synthetic SD 1.5 single-file fp16 checkpoint: from
 * process start to patch written, warm page cache, each run in a fresh process (as a one-line `deno run`
 * erasure): once with an empty cache (the text encoder's ONNX model is built and stored), then warm (opened
 * from the cache folder, as every later erasure of that model). Goals (issue 5): UCE one
 * concept < 1.5 s, RECE 3 epochs < 3 s, 100 concepts in one UCE solve < 10 s, peak memory < 1.5 GB.
 *
 * @module
 */
import { join } from "node:path";
import { rm } from "node:fs/promises";
import type { BenchRow, BenchSuite } from "./types.ts";
import { BENCH_DIR, fullCheckpoint } from "./fixtures.ts";

const OBJECTS = [
  "zebra",
  "golf ball",
  "parachute",
  "church",
  "garbage truck",
  "chainsaw",
  "french horn",
  "gas pump",
  "tench",
  "english springer",
  "cassette player",
  "airliner",
  "ambulance",
  "anvil",
  "apron",
  "backpack",
  "balloon",
  "banjo",
  "barn",
  "barrel",
  "basketball",
  "bathtub",
  "beacon",
  "beer bottle",
  "bicycle",
  "binoculars",
  "birdhouse",
  "boathouse",
  "bookcase",
  "bow tie",
  "broom",
  "bucket",
  "bullet train",
  "butcher shop",
  "canoe",
  "carousel",
  "castle",
  "cello",
  "chain mail",
  "chest",
  "cinema",
  "cliff",
  "cocktail shaker",
  "coffee mug",
  "computer keyboard",
  "container ship",
  "convertible",
  "cowboy hat",
  "crane",
  "crash helmet",
  "dam",
  "desk",
  "dial telephone",
  "dishwasher",
  "dog sled",
  "drum",
  "dumbbell",
  "electric guitar",
  "fire engine",
  "fireboat",
  "flagpole",
  "football helmet",
  "forklift",
  "fountain",
  "frying pan",
  "gondola",
  "grand piano",
  "greenhouse",
  "hammer",
  "harmonica",
  "harp",
  "hourglass",
  "iPod",
  "jeep",
  "jigsaw puzzle",
  "kimono",
  "lawn mower",
  "lifeboat",
  "lighthouse",
  "limousine",
  "locomotive",
  "mailbox",
  "maraca",
  "microphone",
  "minivan",
  "monastery",
  "mosque",
  "motor scooter",
  "mountain bike",
  "obelisk",
  "ocarina",
  "palace",
  "parking meter",
  "pickup truck",
  "pirate ship",
  "planetarium",
  "police van",
  "radio telescope",
  "sailboat",
  "school bus",
].slice(0, 100);

async function runErase(
  args: string[],
  cacheDir: string,
): Promise<{ wallS: number; peakRssBytes: number; report: Record<string, unknown> }> {
  const child = new URL("./erase_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", child, ...args],
    env: { FORGET_CACHE_DIR: cacheDir },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  const r = JSON.parse(text);
  if (r.code !== 0) throw new Error(`erase ${args.join(" ")} failed`);
  return r;
}

function phases(report: Record<string, unknown>): string {
  const steps = report.steps as { timings: Record<string, number> }[];
  const t: Record<string, number> = {};
  for (const s of steps) for (const [k, v] of Object.entries(s.timings)) t[k] = (t[k] ?? 0) + v;
  return Object.entries(t).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ");
}

/** The erasure suite. */
export const suite: BenchSuite = {
  name: "erase",
  async run(): Promise<BenchRow[]> {
    const model = await fullCheckpoint("sd15");
    const patch = join(BENCH_DIR, "bench-patch.safetensors");
    const backend = Deno.env.get("FORGET_BENCH_BACKEND") ?? "cpu,ort-node";
    const rows: BenchRow[] = [];
    const cases: [string, string[], string][] = [
      ["UCE, 1 concept (zebra)", ["--concept", "zebra", "--method", "uce"], "goal < 1.5 s"],
      ["RECE, nudity, 3 epochs", ["--concept", "nudity", "--method", "rece"], "goal < 3 s"],
      ["UCE, 100 concepts, one solve (last-token)", [
        ...OBJECTS.flatMap((o) => ["--concept", o]),
        "--method",
        "uce",
        "--convention",
        "last-token",
      ], "goal < 10 s"],
    ];
    // A cache folder of the benchmark's own: emptied first, so the first run builds and stores the text
    // encoder's ONNX model ("cold"); every later process opens it from disk ("warm", the usual case).
    const cacheDir = join(BENCH_DIR, "cache");
    await rm(cacheDir, { recursive: true, force: true });
    const runs: [string, string[], string][] = [
      [`${cases[0][0]}, cold cache`, cases[0][1], "first run on a model: builds and stores the encoder"],
      ...cases.map(([n, a, g]): [string, string[], string] => [`${n}, warm`, a, g]),
    ];
    for (const [name, args, goal] of runs) {
      await rm(patch, { force: true });
      const r = await runErase([
        "--model",
        model,
        "--out",
        patch,
        "--backend",
        backend,
        ...args,
      ], cacheDir);
      rows.push({
        name: `sd15 ${name}: start → patch written`,
        value: r.wallS,
        unit: "s",
        note: `${goal}; ${phases(r.report)}`,
      });
      rows.push({
        name: `sd15 ${name}: peak RSS`,
        value: r.peakRssBytes / 1e6,
        unit: "MB",
        note: "goal < 1500 MB",
      });
    }
    await rm(patch, { force: true });
    return rows;
  },
};
