/**
 * Closed-form erasure end to end: encode the concepts, guides and preserve texts once; solve UCE; run the
 * RECE epochs; export the result as an exact low-rank Edit; measure how well it did (residuals per layer).
 *
 * Nothing here loops over layers with text encoding inside: every layer shares one update M = I + U·R,
 * the preserve Gram matrix is computed once (and cached per base model), and per-layer work is matrix
 * products on the stacked weights.
 *
 * @module
 */
import type { Backend } from "../../../kernels/backend.ts";
import { type Matrix, matrix, type Matrix64, matrix64 } from "../../../kernels/matrix.ts";
import { svdOfProduct } from "../../patch/linalg.ts";
import { type Edit, type LowRankDelta, lowRankDeltaOrthonormal, TOOL_VERSION } from "../../patch/edit.ts";
import type { Family } from "../../models/config.ts";
import { vstack64 } from "./dense64.ts";
import { composeUpdates, type FactoredUpdate, mapRows } from "./factored.ts";
import { GramCache } from "./gram_cache.ts";
import { editRows, type EncodedRows, type EncodedText, preserveRows, rowsNeeded } from "./rows.ts";
import { uceSolve } from "./uce.ts";
import { adversarialEmbeddings } from "./rece.ts";
import type { ClosedFormSettings } from "./defaults.ts";

/** One edited weight matrix (to_k or to_v of a cross-attention layer), float32. */
export interface EditedWeight {
  /** diffusers module path, e.g. `…attn2.to_k`. */
  module: string;
  /** Output features (rows). */
  outDim: number;
  /** Row-major values, outDim × d. */
  data: Float32Array;
}

/** What the method needs from a model. */
export interface ClosedFormModel {
  /** Family (for provenance). */
  family: Family;
  /** Hash of the edited weights (provenance, cache keys). */
  hash: string;
  /** Width d of the text conditioning. */
  contextDim: number;
  /** Every to_k / to_v. */
  weights: EditedWeight[];
  /**
   * Encodes texts (float64 rows) with their token counts; expected to cache. `rows` (default `"all"`: 77
   * each) may ask for `"through-last-token"` only, which an implementation may serve with fewer rows
   * (BOS through the last word token) from a cheaper run, or with all 77.
   */
  encode(texts: string[], rows?: EncodedRows): Promise<EncodedText[]>;
  /** Identifies the text-encoding convention, for cache keys. */
  encoderKey: string;
}

/** Per-layer quality of the edit. */
export interface LayerResidual {
  /** diffusers module path. */
  module: string;
  /** ‖W′c − v*‖ / ‖v*‖ over the UCE edit rows (targets from the original weights). */
  erased: number;
  /** ‖W′p − Wp‖ / ‖Wp‖ over (up to 512) preserve rows. */
  preserved: number;
}

/** What happened, for `--json` reports. */
export interface ClosedFormReport {
  /** Seconds per phase. */
  timings: Record<string, number>;
  /** Rows in the UCE solve: edit rows, preserve rows. */
  rows: { edit: number; preserve: number };
  /** Whether the preserve Gram matrix came from the cache. */
  preserveGramCached: boolean;
  /** Relative residual of each d×d solve. */
  solveResiduals: number[];
  /** Rank of the total update (= rank of every ΔW, at most). */
  rank: number;
  /** Per layer. */
  layers: LayerResidual[];
  /** The settings used. */
  settings: ClosedFormSettings;
}

/** The adversarial embeddings RECE derived: also an attack on the edited model. */
export interface AdversarialRecord {
  /** Concept. */
  concept: string;
  /** Epoch (0-based). */
  epoch: number;
  /** 77×d rows. */
  embeddings: Matrix64;
}

/** Result of {@linkcode closedFormErase}. */
export interface ClosedFormResult {
  /** The edit. */
  edit: Edit;
  /** Report. */
  report: ClosedFormReport;
  /** RECE's derived embeddings, per concept and epoch. */
  adversarial: AdversarialRecord[];
  /** The shared update M = I + U·R (for further composition). */
  update: FactoredUpdate;
}

/** Options of {@linkcode closedFormErase}. */
export interface ClosedFormOptions {
  /** Compute backend. */
  backend: Backend;
  /** Gram cache (default: memory and `~/.cache/forget`). */
  cache?: GramCache;
  /** Truncate every ΔW to this rank (SVD; the report's relative errors say what was lost). */
  maxRank?: number;
  /** Called when a phase starts, for progress output. */
  onPhase?: (phase: string) => void;
  /** An update already applied (earlier steps of a plan): this erasure edits W·M₀ and the result covers both. */
  initial?: FactoredUpdate;
}

/** Stacks the weights into one (Σout)×d float32 matrix: one product serves every layer. */
function stackWeights(weights: EditedWeight[], d: number): Matrix {
  const rows = weights.reduce((s, w) => s + w.outDim, 0);
  const data = new Float32Array(rows * d);
  let off = 0;
  for (const w of weights) {
    data.set(w.data, off);
    off += w.data.length;
  }
  return matrix(rows, d, data);
}

/** Σ rowsᵀrows (d×d) of many row blocks. */
async function gramOf(backend: Backend, blocks: Matrix64[], d: number): Promise<Matrix64> {
  if (!blocks.length) return matrix64(d, d);
  const all = vstack64(blocks);
  return await backend.gram(matrix(all.rows, all.cols, Float32Array.from(all.data)));
}

/**
 * The SVD of the shared update D = U·R (d×d, rank ≤ k), as D = Us·Vᵀ with Us = U·S (d×r) and Vᵀ (r×d) with
 * orthonormal rows. Low rank (k ≤ d/2): from U and R directly. Otherwise D is formed (one product on the
 * backend) and decomposed whole.
 */
async function sharedSvd(
  backend: Backend,
  update: FactoredUpdate,
  d: number,
): Promise<{ us: Float64Array; vt: Float64Array; r: number }> {
  const k = update.u.cols;
  let svd;
  if (k <= d / 2) svd = svdOfProduct(update.u.data, update.r.data, d, k, d);
  else {
    const f32 = (m: Matrix64) => matrix(m.rows, m.cols, Float32Array.from(m.data));
    const dense = await backend.matmul(f32(update.u), f32(update.r));
    const eye = new Float64Array(d * d);
    for (let i = 0; i < d; i++) eye[i * d + i] = 1;
    svd = svdOfProduct(Float64Array.from(dense.data), eye, d, d, d);
  }
  const { r } = svd;
  const us = new Float64Array(d * r);
  for (let i = 0; i < d; i++) for (let c = 0; c < r; c++) us[i * r + c] = svd.u[i * r + c] * svd.s[c];
  const vt = new Float64Array(r * d);
  for (let c = 0; c < r; c++) for (let j = 0; j < d; j++) vt[c * d + j] = svd.v[j * r + c];
  return { us, vt, r };
}

/** Per-layer row-norm ratio ‖X·W_lᵀ‖ / ‖Y·W_lᵀ‖ from one product against the stacked weights. */
async function layerRatios(
  backend: Backend,
  stacked: Matrix,
  weights: EditedWeight[],
  x: Matrix64,
  y: Matrix64,
): Promise<number[]> {
  if (!x.rows) return weights.map(() => 0);
  const f32 = (m: Matrix64) => matrix(m.rows, m.cols, Float32Array.from(m.data));
  const xw = await backend.matmul(f32(x), stacked, { transB: true });
  const yw = await backend.matmul(f32(y), stacked, { transB: true });
  const out: number[] = [];
  let c0 = 0;
  for (const w of weights) {
    let num = 0, den = 0;
    for (let i = 0; i < x.rows; i++) {
      for (let j = c0; j < c0 + w.outDim; j++) {
        num += xw.data[i * xw.cols + j] ** 2;
        den += yw.data[i * yw.cols + j] ** 2;
      }
    }
    out.push(den > 0 ? Math.sqrt(num / den) : 0);
    c0 += w.outDim;
  }
  return out;
}

function guideFor(settings: ClosedFormSettings, i: number): string {
  return settings.guide.split(";")[i] ?? settings.guide.split(";")[0];
}

/**
 * Erases `concepts` from `model` with UCE (and RECE epochs when `settings.method` is `"rece"`).
 *
 * @example
 * ```ts ignore
 * import { closedFormErase } from "./erase.ts";
 * import { defaultSettings } from "./defaults.ts";
 * const { edit, report } = await closedFormErase(model, ["Van Gogh"], defaultSettings("style", "rece"), { backend });
 * ```
 */
export async function closedFormErase(
  model: ClosedFormModel,
  concepts: string[],
  settings: ClosedFormSettings,
  options: ClosedFormOptions,
): Promise<ClosedFormResult> {
  const { backend } = options;
  const cache = options.cache ?? new GramCache();
  const d = model.contextDim;
  const timings: Record<string, number> = {};
  const phase = (name: string) => {
    const now = performance.now();
    options.onPhase?.(name);
    return () => {
      timings[name] = (timings[name] ?? 0) + (performance.now() - now) / 1000;
    };
  };

  // 1. Encode everything once (the model's encoder caches repeated texts). The last-token convention reads
  // each text only through its last word token, so only that prefix is encoded, unless RECE's epochs
  // need the concepts' and guides' 77 rows.
  let done = phase("encode");
  const guides = concepts.map((_, i) => guideFor(settings, i));
  const rows = rowsNeeded(settings.convention);
  const receEpochs = settings.method === "rece" && settings.receEpochs > 0;
  const editEncoding: EncodedRows = receEpochs ? "all" : rows;
  const [conceptEmb, guideEmb] = [
    await model.encode(concepts, editEncoding),
    await model.encode(guides, editEncoding),
  ];
  done();

  // 2. Edit rows and the preserve Gram (cached per base model and preserve set).
  done = phase("preserve-gram");
  const pairs = concepts.map((_, i) => editRows(conceptEmb[i], guideEmb[i], settings.convention));
  const keys = vstack64(pairs.map((p) => p.keys)), guideRows = vstack64(pairs.map((p) => p.guides));
  const preserveTexts = settings.preserve.filter((p) => !concepts.includes(p));
  let preserveSample: Matrix64 = matrix64(0, d);
  const { gram: preserveGram, hit } = await cache.getOrCompute(
    GramCache.key(["preserve", model.hash, model.encoderKey, settings.convention, [...preserveTexts].sort()]),
    async () => {
      const enc = await model.encode(preserveTexts, rows);
      return await gramOf(backend, enc.map((e) => preserveRows(e, settings.convention)), d);
    },
  );
  if (preserveTexts.length) {
    const enc = await model.encode(preserveTexts.slice(0, settings.convention === "aligned" ? 6 : 512), rows);
    preserveSample = vstack64(enc.map((e) => preserveRows(e, settings.convention)));
  }
  const preserveRowCount = preserveTexts.length * (settings.convention === "aligned" ? 77 : 1);
  done();

  // 3. UCE.
  done = phase("uce-solve");
  const solveResiduals: number[] = [];
  const uce = await uceSolve(backend, {
    keys,
    guides: guideRows,
    preserveGram: preserveTexts.length ? preserveGram : null,
    eraseScale: settings.eraseScale,
    preserveScale: settings.preserveScale,
    lambda: settings.lambda,
    strength: settings.strength,
    gram: (x) => gramOf(backend, [x], d),
  });
  solveResiduals.push(uce.relativeResidual);
  let update = options.initial ? composeUpdates(options.initial, uce.update) : uce.update;
  done();

  // 4. RECE epochs.
  const adversarial: AdversarialRecord[] = [];
  const weights = model.weights;
  const stacked = stackWeights(weights, d);
  if (receEpochs) {
    done = phase("rece-weight-gram");
    const { gram: weightGram } = await cache.getOrCompute(
      GramCache.key(["weights", model.hash, weights.map((w) => w.module)]),
      () => backend.gram(stacked),
    );
    const receTexts = settings.recePreserve;
    const receEnc = await model.encode(receTexts, "all");
    const receGram = await gramOf(backend, receEnc.map((e) => e.rows), d);
    // Duplicated preserve texts add up in the reference (one " " per concept).
    const receScale = settings.recePreserveScale *
      (receTexts.length === 1 && receTexts[0] === " " ? concepts.length : 1);
    done();
    for (let epoch = 0; epoch < settings.receEpochs; epoch++) {
      done = phase("rece-epochs");
      const eKeys: Matrix64[] = [], eGuides: Matrix64[] = [];
      for (let i = 0; i < concepts.length; i++) {
        const adv = await adversarialEmbeddings(
          backend,
          weightGram,
          update,
          conceptEmb[i].rows,
          settings.receLambda,
        );
        solveResiduals.push(adv.relativeResidual);
        adversarial.push({ concept: concepts[i], epoch, embeddings: adv.embeddings });
        eKeys.push(adv.embeddings);
        eGuides.push(guideEmb[i].rows); // all 77 rows, paired row by row (no alignment in RECE)
      }
      // The re-edit is relative to the current weights W′ = W·M, so its rows are taken through M.
      const step = await uceSolve(backend, {
        keys: vstack64(eKeys),
        guides: vstack64(eGuides),
        preserveGram: receGram,
        eraseScale: settings.eraseScale,
        preserveScale: receScale,
        lambda: settings.receRidge,
        gram: (x) => gramOf(backend, [x], d),
      });
      solveResiduals.push(step.relativeResidual);
      update = composeUpdates(update, step.update);
      done();
    }
  }

  // 5. Export: ΔW_l = W_l·U·R; first compress D = U·R to its numerical rank once, then factor each layer.
  done = phase("export");
  const deltas: LowRankDelta[] = [];
  let rank = 0;
  if (update.u.cols) {
    const { us, vt, r } = await sharedSvd(backend, update, d);
    rank = r;
    const wu = await backend.matmul(stacked, matrix(d, r, Float32Array.from(us))); // (Σout)×r = W·U·S
    const vt32 = Float32Array.from(vt);
    let row = 0;
    for (const w of weights) {
      const p = wu.data.subarray(row * r, (row + w.outDim) * r);
      // Exact export needs no per-layer decomposition: ΔW_l = (W_l·U·S)·Vᵀ already is up·down.
      // Truncation does (the best rank-r approximation differs per layer).
      deltas.push(
        options.maxRank === undefined
          ? {
            module: w.module,
            outDim: w.outDim,
            inDim: d,
            rank: r,
            up: p.slice(),
            down: vt32,
            relativeError: 0,
          }
          : lowRankDeltaOrthonormal(w.module, Float64Array.from(p), vt, w.outDim, r, d, options.maxRank),
      );
      row += w.outDim;
    }
  }
  done();

  // 6. Residuals: erased keys against the original targets, preserve rows against their old values.
  done = phase("residuals");
  const mapped = mapRows(update, keys); // rows of C·Mᵀ
  const erasedErr = subtract(mapped, guideRows);
  const preservedErr = subtract(mapRows(update, preserveSample), preserveSample);
  const erased = await layerRatios(backend, stacked, weights, erasedErr, guideRows);
  const preserved = await layerRatios(backend, stacked, weights, preservedErr, preserveSample);
  done();

  const createdAt = new Date().toISOString();
  return {
    edit: {
      deltas,
      provenance: {
        baseModelHash: model.hash,
        family: model.family,
        method: settings.method,
        concepts,
        parameters: { ...settings },
        toolVersion: TOOL_VERSION,
        createdAt,
      },
    },
    report: {
      timings,
      rows: { edit: keys.rows, preserve: preserveRowCount },
      preserveGramCached: hit,
      solveResiduals,
      rank,
      layers: weights.map((w, i) => ({ module: w.module, erased: erased[i], preserved: preserved[i] })),
      settings,
    },
    adversarial,
    update,
  };
}

function subtract(a: Matrix64, b: Matrix64): Matrix64 {
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) out[i] = a.data[i] - b.data[i];
  return matrix64(a.rows, a.cols, out);
}
