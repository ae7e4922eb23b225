/*
 * Builds a stand-in for Xenova/all-MiniLM-L6-v2: a real BERT encoder graph (embeddings, multi-head
 * self-attention, GELU feed-forward, layer norms) written as ONNX with seeded random weights, next to
 * the model's real tokenizer files. By default the weights are int8, quantized the way the published
 * model_quantized.onnx is (the file `reflexgen models pull` installs), so memory and latency match it. The real weights cannot be had on these machines; this proves the
 * loading and inference path, not the quality of the similarities.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INode = import('onnx-proto').onnx.INodeProto;
type ITensor = import('onnx-proto').onnx.ITensorProto;

export interface StandinConfig {
  hidden: number;
  layers: number;
  heads: number;
  intermediate: number;
  maxPositions: number;
  seed: number;
}

/** Small enough to build and run in well under a second; same architecture as MiniLM. */
export const SMALL_CONFIG: StandinConfig = { hidden: 32, layers: 1, heads: 2, intermediate: 64, maxPositions: 512, seed: 7 };
/** The real MiniLM-L6 shape: gives representative load and latency numbers in benchmarks. */
export const MINILM_CONFIG: StandinConfig = { hidden: 384, layers: 6, heads: 12, intermediate: 1536, maxPositions: 512, seed: 7 };

export const MODEL_ID = 'Xenova/all-MiniLM-L6-v2';
const VOCAB = 30522;

const here = dirname(fileURLToPath(import.meta.url));

/** The shared tokenizer/config folder; works from test/helpers and from dist/test/helpers. */
export function sharedModelFiles(): string {
  const candidates = [
    process.env.REFLEXGEN_SHARED_MODELS,
    resolve(here, '..', '..', '..', 'shared', 'models'),
    resolve(here, '..', '..', '..', '..', 'shared', 'models'),
    resolve(here, '..', '..', 'shared', 'models'),
  ].filter((p): p is string => !!p);
  for (const c of candidates) if (existsSync(join(c, MODEL_ID, 'tokenizer.json'))) return c;
  throw new Error(`tokenizer files for ${MODEL_ID} not found (tried ${candidates.join(', ')})`);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function quantizeSymmetric(w: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (const v of w) max = Math.max(max, Math.abs(v));
  const scale = max / 127 || 1;
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale)));
  return { q, scale };
}

function quantizeAsymmetric(w: Float32Array): { q: Uint8Array; scale: number; zero: number } {
  let lo = 0;
  let hi = 0;
  for (const v of w) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const scale = (hi - lo) / 255 || 1;
  const zero = Math.max(0, Math.min(255, Math.round(-lo / scale)));
  const q = new Uint8Array(w.length);
  for (let i = 0; i < w.length; i++) q[i] = Math.max(0, Math.min(255, Math.round(w[i] / scale) + zero));
  return { q, scale, zero };
}

class GraphBuilder {
  nodes: INode[] = [];
  inits: ITensor[] = [];
  private n = 0;
  constructor(private rand: () => number) {}

  name(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  floats(name: string, dims: number[], fill: (i: number) => number): string {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = fill(i);
    this.inits.push({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  random(name: string, dims: number[], scale: number): string {
    return this.floats(name, dims, () => (this.rand() * 2 - 1) * scale);
  }

  ints(name: string, values: number[]): string {
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.inits.push({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  scalarInt(name: string, value: number): string {
    const data = new BigInt64Array([BigInt(value)]);
    this.inits.push({ name, dims: [], dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  op(opType: string, inputs: string[], attrs: Record<string, number | number[]> = {}, output?: string): string {
    const out = output ?? this.name(opType.toLowerCase());
    const attribute = Object.entries(attrs).map(([name, v]) =>
      Array.isArray(v)
        ? { name, type: onnx.AttributeProto.AttributeType.INTS, ints: v }
        : Number.isInteger(v) && name !== 'epsilon' && name !== 'alpha'
          ? { name, type: onnx.AttributeProto.AttributeType.INT, i: v }
          : { name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v },
    );
    this.nodes.push({ opType, input: inputs, output: [out], name: this.name(`n_${opType}`), attribute });
    return out;
  }

  linear(x: string, inDim: number, outDim: number, prefix: string): string {
    const w = this.random(`${prefix}.weight`, [inDim, outDim], Math.sqrt(3 / inDim));
    const b = this.floats(`${prefix}.bias`, [outDim], () => 0);
    return this.op('Add', [this.op('MatMul', [x, w]), b]);
  }

  /**
   * A linear layer as onnxruntime's dynamic quantization writes it (the form of the published
   * model_quantized.onnx files): int8 weights with one symmetric scale, the activations quantized
   * per call by DynamicQuantizeLinear, an integer MatMul, and the product scaled back to float.
   */
  qlinear(x: string, inDim: number, outDim: number, prefix: string): string {
    const w = new Float32Array(inDim * outDim);
    const bound = Math.sqrt(3 / inDim);
    for (let i = 0; i < w.length; i++) w[i] = (this.rand() * 2 - 1) * bound;
    const { q, scale } = quantizeSymmetric(w);
    this.inits.push({ name: `${prefix}.weight_q`, dims: [inDim, outDim], dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(q.buffer) });
    const wScale = this.floats(`${prefix}.weight_scale`, [], () => scale);
    const wZero = this.int8Scalar(`${prefix}.weight_zero`, 0);
    const b = this.floats(`${prefix}.bias`, [outDim], () => 0);
    const xq = this.name('xq');
    const xScale = this.name('xscale');
    const xZero = this.name('xzero');
    this.nodes.push({ opType: 'DynamicQuantizeLinear', input: [x], output: [xq, xScale, xZero], name: this.name('n_DynamicQuantizeLinear'), attribute: [] });
    const acc = this.op('MatMulInteger', [xq, `${prefix}.weight_q`, xZero, wZero]);
    const f = this.op('Cast', [acc], { to: onnx.TensorProto.DataType.FLOAT });
    return this.op('Add', [this.op('Mul', [f, this.op('Mul', [xScale, wScale])]), b]);
  }

  /** An embedding table stored as uint8 (asymmetric, one scale); rows are dequantized after the Gather. */
  qembedding(name: string, rows: number, dim: number, scaleOfValues: number, ids: string): string {
    const t = new Float32Array(rows * dim);
    for (let i = 0; i < t.length; i++) t[i] = (this.rand() * 2 - 1) * scaleOfValues;
    const { q, scale, zero } = quantizeAsymmetric(t);
    this.inits.push({ name: `${name}_q`, dims: [rows, dim], dataType: onnx.TensorProto.DataType.UINT8, rawData: q });
    const s = this.floats(`${name}_scale`, [], () => scale);
    this.inits.push({ name: `${name}_zero`, dims: [], dataType: onnx.TensorProto.DataType.UINT8, rawData: new Uint8Array([zero]) });
    return this.op('DequantizeLinear', [this.op('Gather', [`${name}_q`, ids], { axis: 0 }), s, `${name}_zero`]);
  }

  int8Scalar(name: string, value: number): string {
    this.inits.push({ name, dims: [], dataType: onnx.TensorProto.DataType.INT8, rawData: new Uint8Array(new Int8Array([value]).buffer) });
    return name;
  }

  layerNorm(x: string, dim: number, prefix: string): string {
    const g = this.floats(`${prefix}.gamma`, [dim], () => 1);
    const b = this.floats(`${prefix}.beta`, [dim], () => 0);
    return this.op('LayerNormalization', [x, g, b], { axis: -1, epsilon: 1e-12 });
  }
}

export type StandinWeights = 'q8' | 'fp32';

/**
 * Serialized ONNX bytes of a BERT encoder with the given shape: fp32 weights (`onnx/model.onnx`) or
 * int8 ones as dynamic quantization writes them (`onnx/model_quantized.onnx`, what `models pull` installs).
 */
export function buildBertOnnx(cfg: StandinConfig, weights: StandinWeights = 'fp32'): Uint8Array {
  const g = new GraphBuilder(mulberry32(cfg.seed));
  const quantized = weights === 'q8';
  const linear = (x: string, inDim: number, outDim: number, prefix: string) => (quantized ? g.qlinear(x, inDim, outDim, prefix) : g.linear(x, inDim, outDim, prefix));
  const H = cfg.hidden;
  const headDim = H / cfg.heads;
  if (!Number.isInteger(headDim)) throw new Error('hidden must be divisible by heads');

  // Embeddings: word + position (0..seq-1) + token type, then layer norm.
  const shape = g.op('Shape', ['input_ids']);
  const seqLen = g.op('Gather', [shape, g.scalarInt('one_idx', 1)], { axis: 0 });
  const positions = g.op('Range', [g.scalarInt('zero', 0), seqLen, g.scalarInt('step', 1)]);
  // The word table is most of the model's bytes (30522 x hidden): quantized models keep it as uint8.
  const words = quantized ? g.qembedding('embeddings.word', VOCAB, H, 1, 'input_ids') : g.op('Gather', [g.random('embeddings.word', [VOCAB, H], 1), 'input_ids'], { axis: 0 });
  const posEmb = g.random('embeddings.position', [cfg.maxPositions, H], 0.1);
  const typeEmb = g.random('embeddings.token_type', [2, H], 0.1);
  let x = g.op('Add', [words, g.op('Gather', [posEmb, positions], { axis: 0 })]);
  x = g.op('Add', [x, g.op('Gather', [typeEmb, 'token_type_ids'], { axis: 0 })]);
  x = g.layerNorm(x, H, 'embeddings.ln');

  // Additive attention mask [B,1,1,S]: 0 where attended, -1e4 on padding.
  const maskF = g.op('Cast', ['attention_mask'], { to: onnx.TensorProto.DataType.FLOAT });
  const one = g.floats('const_one', [], () => 1);
  const negBig = g.floats('const_neg', [], () => -10000);
  const maskBias = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [one, maskF]), negBig]), g.ints('mask_axes', [1, 2])]);

  const splitShape = g.ints('split_shape', [0, 0, cfg.heads, headDim]);
  const mergeShape = g.ints('merge_shape', [0, 0, H]);
  const scale = g.floats('attn_scale', [], () => 1 / Math.sqrt(headDim));
  const sqrt2 = g.floats('const_sqrt2', [], () => Math.SQRT2);
  const half = g.floats('const_half', [], () => 0.5);

  for (let l = 0; l < cfg.layers; l++) {
    const p = `layer${l}`;
    const heads = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, splitShape])], { perm });
    const q = heads(linear(x, H, H, `${p}.q`), [0, 2, 1, 3]);
    const k = heads(linear(x, H, H, `${p}.k`), [0, 2, 3, 1]);
    const v = heads(linear(x, H, H, `${p}.v`), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), maskBias]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), mergeShape]);
    const attnOut = linear(ctx, H, H, `${p}.o`);
    x = g.layerNorm(g.op('Add', [attnOut, x]), H, `${p}.ln1`);
    // GELU written with Erf, as the exported BERT graphs do.
    const hIn = linear(x, H, cfg.intermediate, `${p}.ff1`);
    const gelu = g.op('Mul', [g.op('Mul', [hIn, half]), g.op('Add', [one, g.op('Erf', [g.op('Div', [hIn, sqrt2])])])]);
    const hOut = linear(gelu, cfg.intermediate, H, `${p}.ff2`);
    x = g.layerNorm(g.op('Add', [hOut, x]), H, `${p}.ln2`);
  }
  g.op('Identity', [x], {}, 'last_hidden_state');

  const dim = (p: string) => ({ dimParam: p });
  const tensorType = (elemType: number, dims: Array<{ dimParam: string } | { dimValue: number }>) => ({
    tensorType: { elemType, shape: { dim: dims } },
  });
  const int64 = onnx.TensorProto.DataType.INT64;
  const inputs = ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({
    name,
    type: tensorType(int64, [dim('batch_size'), dim('sequence_length')]),
  }));
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'reflexgen-standin',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'bert_standin',
      node: g.nodes,
      initializer: g.inits,
      input: inputs,
      output: [{ name: 'last_hidden_state', type: tensorType(onnx.TensorProto.DataType.FLOAT, [dim('batch_size'), dim('sequence_length'), { dimValue: H }]) }],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/**
 * Writes `<root>/Xenova/all-MiniLM-L6-v2/` with the real tokenizer files, a config.json for the given
 * shape and the weights: by default int8 ones in `onnx/model_quantized.onnx` (the file `models pull`
 * installs and transformers.js loads for dtype q8); with `weights: ['fp32']` only `onnx/model.onnx`,
 * to compare. Returns root, which is what production takes as its model directory.
 */
export function writeStandinModel(root: string, cfg: StandinConfig = SMALL_CONFIG, opts: { weights?: StandinWeights[] } = {}): string {
  const src = join(sharedModelFiles(), MODEL_ID);
  const dst = join(root, MODEL_ID);
  mkdirSync(join(dst, 'onnx'), { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt']) {
    if (existsSync(join(src, f))) copyFileSync(join(src, f), join(dst, f));
  }
  const config = {
    _name_or_path: 'reflexgen-standin',
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_act: 'gelu',
    hidden_size: cfg.hidden,
    intermediate_size: cfg.intermediate,
    num_attention_heads: cfg.heads,
    num_hidden_layers: cfg.layers,
    max_position_embeddings: cfg.maxPositions,
    type_vocab_size: 2,
    vocab_size: VOCAB,
    layer_norm_eps: 1e-12,
    pad_token_id: 0,
  };
  writeFileSync(join(dst, 'config.json'), JSON.stringify(config, null, 2));
  for (const w of opts.weights ?? ['q8']) {
    writeFileSync(join(dst, 'onnx', w === 'q8' ? 'model_quantized.onnx' : 'model.onnx'), buildBertOnnx(cfg, w));
  }
  return root;
}

let cached: string | undefined;

/** One small stand-in per test process, built on first use in a temp dir. */
export function standinModelDir(): string {
  if (!cached) cached = writeStandinModel(mkdtempSync(join(tmpdir(), 'reflexgen-standin-')));
  return cached;
}
