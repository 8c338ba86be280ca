/**
 * The CLIP text transformer as an ONNX graph, built straight from a checkpoint's weights in
 * Hugging Face naming (`text_model.embeddings.token_embedding.weight`, …). Node names mirror the
 * key paths (`text_model.encoder.layers.3.self_attn.q_proj`), so any intermediate tensor can be
 * exposed by its path.
 *
 * Weights keep their checkpoint layout and names (linear layers are `Gemm` with `transB`); the
 * attention scale 1/√head_dim is applied by the q projection's Gemm (`alpha`, `beta`).
 *
 * @module
 */

import type { TensorMeta, TensorSource } from "../formats/tensor_source.ts";
import { float, GraphBuilder } from "../runtime/graph.ts";
import type { OnnxModel } from "../runtime/onnx_model.ts";
import type { ClipTextConfig } from "./clip_config.ts";

/** What the graph computes and returns. */
export interface ClipTextGraphOptions {
  /** Layers to run (default: all of `config.numLayers`). */
  layers?: number;
  /** Whose output becomes `hidden_states`: 0 is the embeddings, k the k-th layer (default: the last run). */
  hiddenLayer?: number;
  /** Apply `final_layer_norm` to `hidden_states` (default true). */
  finalNorm?: boolean;
  /** Also return `pooled`: final-normed state at the first end-of-text token × `text_projection`. */
  pooled?: boolean;
  /** Extra intermediate tensors to return, by node name (e.g. `text_model.encoder.layers.0.mlp.fc1`). */
  expose?: string[];
  /** Graph name (default: the config's name). */
  name?: string;
  /**
   * `"float32"` (default) binds every weight as float32; `"stored"` keeps float16 checkpoint weights
   * as float16 initializers cast at run time (half the memory, e.g. to fit the WASM build).
   */
  weights?: "float32" | "stored";
  /**
   * Read each checkpoint weight only when the model is written (default false): the built model then holds no
   * weights, must be serialized with external data, and `source` must stay open until it is written.
   */
  deferWeights?: boolean;
}

/**
 * Version of the graph {@linkcode buildClipTextGraph} writes; part of the key of models kept on disk, so bump
 * it whenever the graph changes.
 *
 * @example
 * ```ts
 * import { CLIP_GRAPH_VERSION } from "./clip_text_graph.ts";
 * CLIP_GRAPH_VERSION.startsWith("clip-text-graph/"); // true
 * ```
 */
export const CLIP_GRAPH_VERSION: string = "clip-text-graph/3";

/**
 * Names of the graph's inputs and outputs. The sequence length `seq` is dynamic, 1 to `maxPositions` (77):
 * the transformer is causal, so the states of a run on a prompt's first `seq` tokens equal the first `seq`
 * rows of the full run.
 *
 * @example
 * ```ts
 * import { CLIP_TEXT_IO } from "./clip_text_graph.ts";
 * CLIP_TEXT_IO.inputIds; // "input_ids"
 * ```
 */
export const CLIP_TEXT_IO = {
  /** Token ids, int32 `[batch, seq]`. */
  inputIds: "input_ids",
  /** float32 `[batch, seq, hidden]`. */
  hiddenStates: "hidden_states",
  /** float32 `[batch, projectionDim]`: meaningful only for runs that include the end-of-text token (full 77). */
  pooled: "pooled",
} as const;

const PREFIX = "text_model.";

function missing(source: TensorSource, key: string, config: ClipTextConfig): Error {
  return new Error(
    `checkpoint has no ${config.name} text encoder weight "${key}"` +
      (source.has(`${PREFIX}embeddings.token_embedding.weight`)
        ? ""
        : " (no text_model.embeddings.token_embedding.weight either: is this a text encoder?)"),
  );
}

/** The weight's stored dtype and shape, checked against the shape the configuration needs. */
function checkedInfo(source: TensorSource, key: string, shape: number[], config: ClipTextConfig): TensorMeta {
  if (!source.has(key)) throw missing(source, key, config);
  const info = source.info(key);
  if (info.shape.join(",") !== shape.join(",")) {
    throw new Error(
      `text encoder weight "${key}" has shape [${info.shape}], the ${config.name} configuration needs [${shape}]`,
    );
  }
  return info;
}

/**
 * Checks that a source holds a text encoder matching `config` (embedding shape, layer count).
 * Returns the number of layers the source holds.
 *
 * @example
 * ```ts ignore
 * import { checkClipTextWeights } from "./clip_text_graph.ts";
 * import { clipL14 } from "./clip_config.ts";
 * const layers = checkClipTextWeights(source, clipL14());
 * ```
 */
export function checkClipTextWeights(source: TensorSource, config: ClipTextConfig): number {
  const emb = `${PREFIX}embeddings.token_embedding.weight`;
  if (!source.has(emb)) {
    throw new Error(`checkpoint has no ${config.name} text encoder: "${emb}" is missing`);
  }
  const shape = source.info(emb).shape;
  if (shape.length !== 2 || shape[1] !== config.hiddenSize || shape[0] !== config.vocabSize) {
    throw new Error(
      `text encoder token embedding has shape [${shape}], ${config.name} needs [${config.vocabSize}, ${config.hiddenSize}]`,
    );
  }
  let layers = 0;
  while (source.has(`${PREFIX}encoder.layers.${layers}.self_attn.q_proj.weight`)) layers++;
  return layers;
}

/**
 * Builds the text transformer graph: input `input_ids` (int32 `[n, seq]`, any `seq` from 1 to 77), outputs
 * `hidden_states` `[n, seq, hidden]` (and `pooled`, and any exposed intermediates). Position embeddings
 * and the causal mask are sliced to `seq` inside the graph.
 *
 * @example
 * ```ts ignore
 * import { buildClipTextGraph } from "./clip_text_graph.ts";
 * import { clipL14 } from "./clip_config.ts";
 * import { serializeModel } from "../runtime/onnx_model.ts";
 * const model = serializeModel(await buildClipTextGraph(source, clipL14()));
 * ```
 */
export async function buildClipTextGraph(
  source: TensorSource,
  config: ClipTextConfig,
  options: ClipTextGraphOptions = {},
): Promise<OnnxModel> {
  const d = config.hiddenSize;
  const heads = config.numHeads;
  const headDim = d / heads;
  const maxSeq = config.maxPositions;
  if (!Number.isInteger(headDim)) {
    throw new Error(`${config.name}: hidden size ${d} is not divisible by ${heads} heads`);
  }
  const layers = options.layers ?? config.numLayers;
  const hiddenLayer = options.hiddenLayer ?? layers;
  if (layers < 1 || layers > config.numLayers) {
    throw new Error(`${config.name}: cannot run ${layers} layers of ${config.numLayers}`);
  }
  if (hiddenLayer < 0 || hiddenLayer > layers) {
    throw new Error(`${config.name}: hidden_states from layer ${hiddenLayer} needs 0..${layers}`);
  }
  if (options.pooled && layers !== config.numLayers) {
    throw new Error(`${config.name}: the pooled output needs all ${config.numLayers} layers, not ${layers}`);
  }
  const held = checkClipTextWeights(source, config);
  if (held < layers) {
    throw new Error(`${config.name}: checkpoint's text encoder has ${held} layers, ${layers} are needed`);
  }

  const g = new GraphBuilder(options.name ?? config.name);
  const ids = g.input(CLIP_TEXT_IO.inputIds, "int32", ["batch", "sequence"]);
  // Dynamic sizes, int64 [1] each: every reshape below is [batch, -1, …] so the sequence length follows the input.
  const idsShape = g.op("Shape", [ids], {}, "input.shape");
  const batchDim = g.op("Gather", [idsShape, g.int64s([0])], { axis: 0 }, "batch.size");
  const seqDim = g.op("Gather", [idsShape, g.int64s([1])], { axis: 0 }, "sequence.size");
  const shapeOf = (tail: number[], name: string) =>
    g.op("Concat", [batchDim, g.int64s(tail)], { axis: 0 }, name);
  // Weights are added once under their checkpoint key and shared by every node that uses them.
  const bound = new Map<string, string>();
  const keep = options.weights ?? "float32";
  const w = async (key: string, shape: number[]): Promise<string> => {
    let name = bound.get(key);
    if (name === undefined) {
      const info = checkedInfo(source, key, shape, config);
      name = options.deferWeights
        ? g.deferredFloat32Weight(key, info, () => source.readRaw(key), keep)
        : g.float32Weight(key, await source.readRaw(key), keep);
      bound.set(key, name);
    }
    return name;
  };

  // Linear layers are single Gemm nodes on the checkpoint's [out, in] weights (transB), bias included.
  const linear = async (
    x: string,
    path: string,
    inDim: number,
    outDim: number,
    scale = 1,
  ): Promise<string> => {
    const weight = await w(`${path}.weight`, [outDim, inDim]);
    const bias = await w(`${path}.bias`, [outDim]);
    return g.op("Gemm", [x, weight, bias], { transB: 1, alpha: float(scale), beta: float(scale) }, path);
  };
  const layerNorm = async (x: string, path: string): Promise<string> =>
    g.op("LayerNormalization", [x, await w(`${path}.weight`, [d]), await w(`${path}.bias`, [d])], {
      axis: -1,
      epsilon: float(config.layerNormEps),
    }, path);

  // Embeddings: tokens + positions, then the residual stream is kept 2-D [batch·seq, d] so every
  // projection is one plain GEMM.
  const embKey = `${PREFIX}embeddings.token_embedding.weight`;
  const embInfo = checkedInfo(source, embKey, [config.vocabSize, d], config);
  let tokens: string;
  if (options.weights === "stored" && embInfo.dtype === "F16") {
    // Gather the float16 rows first and cast only those: the table itself is never converted.
    const table = await g.float16Weight(embKey, embInfo, () => source.readRaw(embKey), options.deferWeights);
    const rows = g.op("Gather", [table, ids], { axis: 0 }, `${PREFIX}embeddings.token_embedding.float16`);
    tokens = g.op("Cast", [rows], { to: 1 }, `${PREFIX}embeddings.token_embedding`);
  } else {
    const table = await w(embKey, [config.vocabSize, d]);
    tokens = g.op("Gather", [table, ids], { axis: 0 }, `${PREFIX}embeddings.token_embedding`);
  }
  const positions = g.op(
    "Slice",
    [
      await w(`${PREFIX}embeddings.position_embedding.weight`, [maxSeq, d]),
      g.int64s([0]),
      seqDim,
      g.int64s([0]),
    ],
    {},
    `${PREFIX}embeddings.position_embedding.used`,
  );
  const embedded = g.op("Add", [tokens, positions], {}, `${PREFIX}embeddings`);
  let x = g.op("Reshape", [embedded, g.int64s([-1, d])], {}, `${PREFIX}embeddings.flat`);

  const mask = new Float32Array(maxSeq * maxSeq);
  for (let i = 0; i < maxSeq; i++) for (let j = i + 1; j < maxSeq; j++) mask[i * maxSeq + j] = -Infinity;
  const causal = g.op(
    "Slice",
    [
      g.weight("causal_mask", mask, [maxSeq, maxSeq]),
      g.int64s([0, 0]),
      g.op("Concat", [seqDim, seqDim], { axis: 0 }, "causal_mask.ends"),
      g.int64s([0, 1]),
    ],
    {},
    "causal_mask.used",
  );
  const headsShape = shapeOf([-1, heads, headDim], "heads.shape");

  const states: string[] = [x];
  for (let l = 0; l < layers; l++) {
    const p = `${PREFIX}encoder.layers.${l}`;
    const h = await layerNorm(x, `${p}.layer_norm1`);
    const q = await linear(h, `${p}.self_attn.q_proj`, d, d, 1 / Math.sqrt(headDim));
    const k = await linear(h, `${p}.self_attn.k_proj`, d, d);
    const v = await linear(h, `${p}.self_attn.v_proj`, d, d);
    const split = (t: string, name: string, perm: number[]) =>
      g.op("Transpose", [g.op("Reshape", [t, headsShape], {}, `${name}.heads`)], {
        perm,
      }, `${name}.transpose`);
    const qh = split(q, `${p}.self_attn.q`, [0, 2, 1, 3]); // [n, h, s, hd]
    const kh = split(k, `${p}.self_attn.k`, [0, 2, 3, 1]); // [n, h, hd, s]
    const vh = split(v, `${p}.self_attn.v`, [0, 2, 1, 3]); // [n, h, s, hd]
    const scores = g.op(
      "Add",
      [g.op("MatMul", [qh, kh], {}, `${p}.self_attn.scores`), causal],
      {},
      `${p}.self_attn.masked`,
    );
    const probs = g.op("Softmax", [scores], { axis: -1 }, `${p}.self_attn.probs`);
    const ctx = g.op("MatMul", [probs, vh], {}, `${p}.self_attn.context`);
    const merged = g.op(
      "Reshape",
      [
        g.op("Transpose", [ctx], { perm: [0, 2, 1, 3] }, `${p}.self_attn.context.transpose`),
        g.int64s([-1, d]),
      ],
      {},
      `${p}.self_attn.context.flat`,
    );
    const attn = await linear(merged, `${p}.self_attn.out_proj`, d, d);
    x = g.op("Add", [x, attn], {}, `${p}.residual1`);

    const h2 = await layerNorm(x, `${p}.layer_norm2`);
    const f1 = await linear(h2, `${p}.mlp.fc1`, d, config.intermediateSize);
    let act: string;
    if (config.activation === "quick_gelu") {
      const gate = g.op(
        "Sigmoid",
        [g.op("Mul", [f1, g.scalar(1.702)], {}, `${p}.mlp.act.scale`)],
        {},
        `${p}.mlp.act.gate`,
      );
      act = g.op("Mul", [f1, gate], {}, `${p}.mlp.act`);
    } else {
      // Exact GELU, written the way ONNX Runtime's Gelu fusion recognizes: 0.5·x·(1 + erf(x/√2)).
      const erf = g.op(
        "Erf",
        [g.op("Div", [f1, g.scalar(Math.SQRT2)], {}, `${p}.mlp.act.div`)],
        {},
        `${p}.mlp.act.erf`,
      );
      const onePlus = g.op("Add", [erf, g.scalar(1)], {}, `${p}.mlp.act.add`);
      act = g.op(
        "Mul",
        [g.op("Mul", [f1, onePlus], {}, `${p}.mlp.act.mul`), g.scalar(0.5)],
        {},
        `${p}.mlp.act`,
      );
    }
    const f2 = await linear(act, `${p}.mlp.fc2`, config.intermediateSize, d);
    x = g.op("Add", [x, f2], {}, `${p}.residual2`);
    states.push(x);
  }

  let hidden = states[hiddenLayer];
  if (options.finalNorm ?? true) hidden = await layerNorm(hidden, `${PREFIX}final_layer_norm`);
  const hidden3d = g.op(
    "Reshape",
    [hidden, shapeOf([-1, d], "hidden_states.shape")],
    {},
    `${PREFIX}hidden_states`,
  );
  g.output(hidden3d, "float32", ["batch", "sequence", d], CLIP_TEXT_IO.hiddenStates);

  if (options.pooled) {
    // Row index of each prompt's first end-of-text token in the flattened [n·seq, d] states.
    const isEos = g.op(
      "Cast",
      [g.op("Equal", [ids, g.constant(new Int32Array([config.eosTokenId]), [])], {}, "eos.mask")],
      { to: 6 },
      "eos.mask.int",
    );
    const eosPos = g.op("ArgMax", [isEos], { axis: 1, keepdims: 0 }, "eos.position");
    const batchScalar = g.op("Squeeze", [batchDim, g.int64s([0])], {}, "batch.size.scalar");
    const rows = g.op(
      "Range",
      [g.constant(new BigInt64Array([0n]), []), batchScalar, g.constant(new BigInt64Array([1n]), [])],
      {},
      "batch.range",
    );
    const index = g.op(
      "Add",
      [g.op("Mul", [rows, seqDim], {}, "eos.row.base"), eosPos],
      {},
      "eos.row",
    );
    const atEos = g.op("Gather", [x, index], { axis: 0 }, "eos.state");
    const normed = await layerNorm(atEos, `${PREFIX}final_layer_norm`);
    const proj = await w("text_projection.weight", [config.projectionDim, d]);
    g.output(
      g.op("Gemm", [normed, proj], { transB: 1 }, "text_projection"),
      "float32",
      ["batch", config.projectionDim],
      CLIP_TEXT_IO.pooled,
    );
  }
  for (const name of options.expose ?? []) {
    if (!g.has(name)) throw new Error(`${config.name}: no tensor named "${name}" to expose`);
    g.output(name, "float32");
  }
  return g.build(17);
}
