/**
 * Shared types of the benchmark harness (`deno task bench`).
 *
 * Each area of the project contributes one suite in `bench/<area>.ts`; `bench/run.ts` runs them all
 * and prints one table. Rows carry ratios measured in the same run where a comparison makes sense.
 *
 * @module
 */

/** One measured number. */
export interface BenchRow {
  /** What was measured, e.g. `"matmul 1024 cpu"`. */
  name: string;
  /** The measured value. */
  value: number;
  /** Its unit, e.g. `"GFLOP/s"`, `"s"`, `"MB"`. */
  unit: string;
  /** Context: a ratio to a reference measured in the same run, sizes, backend. */
  note?: string;
}

/** A group of benchmarks of one area of the project. */
export interface BenchSuite {
  /** Short name of the area, e.g. `"kernels"`. */
  name: string;
  /** Runs the benchmarks and returns their rows. */
  run(): Promise<BenchRow[]>;
}
