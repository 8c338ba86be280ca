/**
 * A judge: an image classifier (exported to ONNX) that says which concept an image shows, one head per
 * category. It decides whether an erased concept still appears. The toy world ships one
 * (`conceptbench/toy/judge/`): heads `object`, `style` and `id`, input NCHW RGB in [0, 1].
 *
 * @module
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { RgbImage } from "../image/image.ts";
import { createSession, type RuntimeSession } from "../runtime/session.ts";
import type { BackendName } from "../runtime/session.ts";

/** The judge's `labels.json`: input spec, the labels of each output head, and each head's "absent" label. */
export interface JudgeLabels {
  /** Input tensor spec. */
  input: { name: string; shape: (number | string)[]; range: [number, number]; layout: string };
  /** Head name → its labels, by index. */
  outputs: Record<string, string[]>;
  /** Head name → the label meaning "none of this head's concepts". */
  absent?: Record<string, string>;
}

/** One image's verdict: the argmax label per head, with its probability. */
export type JudgeVerdict = Record<string, { label: string; index: number; probability: number }>;

/** An ONNX classifier with labelled heads. */
export class Judge {
  /** The labels. */
  readonly labels: JudgeLabels;
  readonly #session: RuntimeSession;
  readonly #size: [number, number];

  private constructor(labels: JudgeLabels, session: RuntimeSession) {
    this.labels = labels;
    this.#session = session;
    const [, , h, w] = labels.input.shape;
    this.#size = [Number(h), Number(w)];
  }

  /**
   * Opens `judge.onnx` with its `labels.json` beside it.
   *
   * @example
   * ```ts ignore
   * import { Judge } from "./judge.ts";
   * const judge = await Judge.open("conceptbench/toy/judge/judge.onnx");
   * ```
   */
  static async open(
    onnxPath: string,
    options: { backend?: BackendName; labelsPath?: string } = {},
  ): Promise<Judge> {
    const labelsPath = options.labelsPath ?? join(dirname(onnxPath), "labels.json");
    let labels: JudgeLabels;
    try {
      labels = JSON.parse(await readFile(labelsPath, "utf8"));
    } catch (e) {
      throw new Error(`${labelsPath}: cannot read the judge's labels: ${(e as Error).message}`);
    }
    if (!labels?.input?.name || !labels.outputs || labels.input.shape?.length !== 4) {
      throw new Error(
        `${labelsPath}: expected {input: {name, shape: [N, 3, H, W], range}, outputs: {head: labels}}`,
      );
    }
    const bytes = await readFile(onnxPath).catch((e) => {
      throw new Error(`${onnxPath}: cannot read the judge: ${(e as Error).message}`);
    });
    const { size } = await stat(onnxPath);
    const session = await createSession({ model: new Uint8Array(bytes), weightBytes: size }, {
      backend: options.backend,
    });
    return new Judge(labels, session);
  }

  /** Input width and height the judge expects. */
  get size(): [number, number] {
    return this.#size;
  }

  /**
   * Classifies images (each must be the judge's input size), returning one verdict per image.
   *
   * @example
   * ```ts ignore
   * const [verdict] = await judge.classify([image]);
   * verdict.object.label; // "circle"
   * ```
   */
  async classify(images: RgbImage[]): Promise<JudgeVerdict[]> {
    const [h, w] = this.#size;
    const [lo, hi] = this.labels.input.range;
    const n = images.length;
    if (!n) return [];
    const data = new Float32Array(n * 3 * h * w);
    images.forEach((img, b) => {
      if (img.width !== w || img.height !== h) {
        throw new RangeError(`judge: image ${b} is ${img.width}×${img.height}, the judge takes ${w}×${h}`);
      }
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let c = 0; c < 3; c++) {
            data[((b * 3 + c) * h + y) * w + x] = lo +
              (hi - lo) * img.data[(y * w + x) * img.channels + c] / 255;
          }
        }
      }
    });
    const out = await this.#session.run({
      [this.labels.input.name]: { dtype: "float32", dims: [n, 3, h, w], data },
    });
    const verdicts: JudgeVerdict[] = Array.from({ length: n }, () => ({}));
    for (const [head, names] of Object.entries(this.labels.outputs)) {
      const logits = out[head]?.data as Float32Array | undefined;
      if (!logits) throw new Error(`judge: the model has no output "${head}"`);
      const k = names.length;
      for (let b = 0; b < n; b++) {
        let best = 0, max = -Infinity, sum = 0;
        for (let j = 0; j < k; j++) if (logits[b * k + j] > max) max = logits[b * k + j];
        for (let j = 0; j < k; j++) {
          const e = Math.exp(logits[b * k + j] - max);
          sum += e;
          if (logits[b * k + j] === max) best = j;
        }
        verdicts[b][head] = { label: names[best], index: best, probability: 1 / sum };
      }
    }
    return verdicts;
  }

  /** Frees the session. */
  async close(): Promise<void> {
    await this.#session.release();
  }
}
