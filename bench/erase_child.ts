/**
 * Child process of the erasure benchmark: runs `forget erase …` (arguments passed through) as the CLI
 * would, then prints `{"wallS", "peakRssBytes", "report"}` — wall time from process start to patch written.
 *
 * @module
 */
import { main } from "../src/cli/main.ts";

const captured: string[] = [];
const log = console.log;
console.log = (...args: unknown[]) => captured.push(args.join(" "));
const code = await main(["erase", ...Deno.args, "--json"]);
console.log = log;
const status = await Deno.readTextFile("/proc/self/status");
const peak = Number(status.match(/VmHWM:\s+(\d+)/)?.[1] ?? 0) * 1024;
console.log(
  JSON.stringify({
    code,
    wallS: performance.now() / 1000,
    peakRssBytes: peak,
    report: JSON.parse(captured.join("\n") || "null"),
  }),
);
