/**
 * Before/after evidence as a text table and a self-contained HTML page (numbers and pictures).
 *
 * @module
 */
import { base64 } from "../image/display.ts";
import { writeAtomically } from "../formats/safetensors.ts";

/** One concept's detection rate under each model variant. */
export interface ComparisonRow {
  /** The concept. */
  concept: string;
  /** Its category. */
  category: string;
  /** Whether it was erased. */
  erased: boolean;
  /** Variant label (e.g. "base", "UCE", "RECE") → detection rate 0..1. */
  rates: Record<string, number>;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;

/**
 * The comparison as a fixed-width text table, erased concepts first, with the change against the first
 * variant.
 *
 * @example
 * ```ts
 * import { formatComparison } from "./report.ts";
 * console.log(formatComparison([{ concept: "star", category: "object", erased: true, rates: { base: 1, UCE: 0 } }]));
 * ```
 */
export function formatComparison(rows: ComparisonRow[]): string {
  const labels = Object.keys(rows[0]?.rates ?? {});
  const sorted = [...rows].sort((a, b) => Number(b.erased) - Number(a.erased));
  const w = Math.max(8, ...rows.map((r) => r.concept.length + r.category.length + 3));
  const head = `${"concept".padEnd(w)}  ${labels.map((l) => l.padStart(7)).join("  ")}   change`;
  const lines = [head, "-".repeat(head.length)];
  for (const r of sorted) {
    const base = r.rates[labels[0]];
    const changes = labels.slice(1).map((l) =>
      `${r.rates[l] - base >= 0 ? "+" : ""}${(100 * (r.rates[l] - base)).toFixed(0)}`
    );
    lines.push(
      `${`${r.concept} (${r.category})`.padEnd(w)}  ${
        labels.map((l) => pct(r.rates[l]).padStart(7)).join("  ")
      }   ${changes.join(" / ")}${r.erased ? "   ← erased" : ""}`,
    );
  }
  return lines.join("\n");
}

/** Contents of an HTML report. */
export interface HtmlReport {
  /** Page title. */
  title: string;
  /** Paragraphs of explanation (plain text). */
  notes: string[];
  /** The comparison. */
  rows: ComparisonRow[];
  /** PNG images with captions. */
  figures: { caption: string; png: Uint8Array }[];
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

/**
 * Writes a self-contained HTML report (images inlined), atomically.
 *
 * @example
 * ```ts ignore
 * import { writeHtmlReport } from "./report.ts";
 * await writeHtmlReport("report.html", { title: "Erasing star", notes: [], rows, figures: [{ caption: "grid", png }] });
 * ```
 */
export async function writeHtmlReport(path: string, report: HtmlReport): Promise<void> {
  const labels = Object.keys(report.rows[0]?.rates ?? {});
  const rows = [...report.rows].sort((a, b) => Number(b.erased) - Number(a.erased)).map((r) =>
    `<tr${r.erased ? ' class="erased"' : ""}><td>${esc(r.concept)}</td><td>${esc(r.category)}</td>${
      labels.map((l) => `<td>${pct(r.rates[l])}</td>`).join("")
    }<td>${r.erased ? "erased" : ""}</td></tr>`
  ).join("\n");
  const figures = report.figures.map((f) =>
    `<figure><img src="data:image/png;base64,${base64(f.png)}" alt="${esc(f.caption)}"><figcaption>${
      esc(f.caption)
    }</figcaption></figure>`
  ).join("\n");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(report.title)}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
table { border-collapse: collapse; } td, th { border-bottom: 1px solid #ddd; padding: .3em .8em; text-align: right; }
td:first-child, td:nth-child(2), th:first-child, th:nth-child(2) { text-align: left; }
tr.erased { background: #fff3e0; font-weight: 600; }
img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
</style></head><body>
<h1>${esc(report.title)}</h1>
${report.notes.map((n) => `<p>${esc(n)}</p>`).join("\n")}
<h2>Detection rate by the judge</h2>
<table><tr><th>concept</th><th>category</th>${labels.map((l) => `<th>${esc(l)}</th>`).join("")}<th></th></tr>
${rows}
</table>
<h2>Images (same prompts and seeds)</h2>
${figures}
</body></html>
`;
  await writeAtomically(path, async (fh) => {
    await fh.write(new TextEncoder().encode(html));
  });
}
