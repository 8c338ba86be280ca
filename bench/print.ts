/**
 * Prints benchmark rows as an aligned table: `deno task bench` and every suite run alone use it.
 *
 * @module
 */
import type { BenchRow } from "./types.ts";

/**
 * One line per row: name, value (3 significant digits, whole numbers from 100), unit, note.
 *
 * @example
 * ```ts
 * import { printRows } from "./print.ts";
 * printRows([{ name: "matmul 512 cpu", value: 2.09, unit: "GFLOP/s" }], "  ");
 * ```
 */
export function printRows(rows: BenchRow[], indent = ""): void {
  const w = Math.max(0, ...rows.map((r) => r.name.length));
  for (const r of rows) {
    const v = Math.abs(r.value) >= 100 ? r.value.toFixed(0) : r.value.toPrecision(3);
    console.log(`${indent}${r.name.padEnd(w)}  ${v.padStart(8)} ${r.unit.padEnd(8)} ${r.note ?? ""}`);
  }
}
