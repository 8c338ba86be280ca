/**
 * A progress bar on standard error, drawn only when standard error is a terminal.
 *
 * @module
 */

/** A progress bar: `update(fraction)` redraws it, `done()` ends its line. */
export interface ProgressBar {
  /** Sets the fraction done, 0..1. */
  update: (fraction: number) => void;
  /** Finishes the bar. */
  done: () => void;
}

/**
 * A progress bar labelled `label`; silent when standard error is not a terminal (CI, pipes).
 *
 * @example
 * ```ts
 * import { progressBar } from "./progress.ts";
 * const bar = progressBar("encode");
 * bar.update(0.5);
 * bar.done();
 * ```
 */
export function progressBar(label: string): ProgressBar {
  const tty = Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let last = -1;
  const started = performance.now();
  return {
    update(fraction: number) {
      if (!tty) return;
      const pct = Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
      if (pct === last) return;
      last = pct;
      const filled = Math.round(pct / 5);
      const secs = ((performance.now() - started) / 1000).toFixed(1);
      Deno.stderr.writeSync(
        enc.encode(`\r${label} [${"#".repeat(filled)}${" ".repeat(20 - filled)}] ${pct}% ${secs}s`),
      );
    },
    done() {
      if (tty && last >= 0) Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}
