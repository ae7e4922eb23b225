import { createHash } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DEFAULT_MODEL_ID = 'Xenova/all-MiniLM-L6-v2';

/** The weight files transformers.js looks for, best first, with the dtype that selects each. */
const WEIGHT_FILES: Array<{ file: string; dtype: 'q8' | 'fp32' }> = [
  { file: 'onnx/model_quantized.onnx', dtype: 'q8' },
  { file: 'onnx/model.onnx', dtype: 'fp32' },
];

export interface ModelLocation {
  modelDir: string;
  modelId: string;
  dir: string;
  weights?: { file: string; dtype: 'q8' | 'fp32'; bytes: number };
  missing: string[];
}

/** Where the model would be and what of it is there; never touches the network. */
export function locateModel(modelDir: string, modelId = DEFAULT_MODEL_ID): ModelLocation {
  const dir = join(modelDir, modelId);
  const missing = ['config.json', 'tokenizer.json', 'tokenizer_config.json'].filter((f) => !existsSync(join(dir, f)));
  const found = WEIGHT_FILES.find((w) => existsSync(join(dir, w.file)));
  if (!found) missing.push(WEIGHT_FILES.map((w) => w.file).join(' or '));
  return {
    modelDir,
    modelId,
    dir,
    weights: found ? { ...found, bytes: statSync(join(dir, found.file)).size } : undefined,
    missing,
  };
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export const EMBEDDING_RUNTIME = '@huggingface/transformers';

/** Raised when the optional embedding runtime is not installed (npm drops it when its install fails). */
export class EmbeddingRuntimeMissing extends Error {
  constructor() {
    super(`the optional embedding runtime ${EMBEDDING_RUNTIME} is not installed`);
  }
}

export interface RuntimeStatus {
  available: boolean;
  version?: string;
  detail: string;
}

/**
 * Whether the embedding runtime can be loaded, found the way `import()` would find it but without
 * loading it (it pulls in onnxruntime, hundreds of milliseconds). It is an optional dependency: an
 * install that could not fetch onnxruntime's native files drops it, and retrieval is lexical.
 */
export async function embeddingRuntimeStatus(): Promise<RuntimeStatus> {
  let entry: string;
  try {
    entry = import.meta.resolve(EMBEDDING_RUNTIME);
  } catch {
    return { available: false, detail: `${EMBEDDING_RUNTIME} not installed (an optional dependency npm drops when onnxruntime-node's install fails, e.g. offline): knowledge retrieval is lexical only` };
  }
  const { readFile } = await import('node:fs/promises');
  const { fileURLToPath } = await import('node:url');
  const { dirname, join: joinPath } = await import('node:path');
  // The package.json is not exported, so walk up from the resolved entry to the package's root.
  let dir = dirname(fileURLToPath(entry));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(await readFile(joinPath(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === EMBEDDING_RUNTIME) return { available: true, version: pkg.version, detail: `${EMBEDDING_RUNTIME} ${pkg.version ?? ''}`.trim() };
    } catch {
      // not the package root yet
    }
    dir = dirname(dir);
  }
  return { available: true, detail: EMBEDDING_RUNTIME };
}

async function importRuntime(): Promise<typeof import('@huggingface/transformers')> {
  try {
    // A variable specifier keeps bundlers and tsc from treating the optional package as required.
    const spec: string = EMBEDDING_RUNTIME;
    return (await import(spec)) as typeof import('@huggingface/transformers');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') throw new EmbeddingRuntimeMissing();
    throw err;
  }
}

/** Texts per inference call; see embed(). */
export const EMBED_BATCH = 4;

type Extractor = (texts: string[], opts: { pooling: 'mean'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>;

// One model per process: transformers.js settings are global, and the daemon only needs one.
let transformersEnvSet = false;

/**
 * Sentence embeddings from an on-device model (mean pooled, L2 normalized). Only a local model
 * directory is ever read: remote loading is switched off before the pipeline is built.
 */
export class Embedder {
  private constructor(
    private readonly extractor: Extractor,
    readonly modelId: string,
    /** Identifies the weights, so vectors made by other weights are recomputed. */
    readonly fingerprint: string,
    readonly dim: number,
    readonly loadMs: number,
  ) {}

  static async load(modelDir: string, modelId = DEFAULT_MODEL_ID): Promise<Embedder> {
    const started = performance.now();
    const loc = locateModel(modelDir, modelId);
    if (loc.missing.length > 0 || !loc.weights) {
      throw new Error(`embedding model ${modelId} not found under ${modelDir} (missing ${loc.missing.join(', ')})`);
    }
    const tf = await importRuntime();
    if (!transformersEnvSet) {
      tf.env.allowRemoteModels = false;
      tf.env.allowLocalModels = true;
      tf.env.useBrowserCache = false;
      transformersEnvSet = true;
    }
    tf.env.localModelPath = modelDir.endsWith('/') ? modelDir : `${modelDir}/`;
    tf.env.allowRemoteModels = false;
    const extractor = (await tf.pipeline('feature-extraction', modelId, {
      dtype: loc.weights.dtype,
      local_files_only: true,
      device: 'cpu',
    })) as unknown as Extractor;
    const probe = await extractor(['probe'], { pooling: 'mean', normalize: true });
    const dim = probe.dims[probe.dims.length - 1];
    const digest = await sha256File(join(loc.dir, loc.weights.file));
    const fingerprint = `${modelId}@${digest.slice(0, 16)}`;
    return new Embedder(extractor, modelId, fingerprint, dim, performance.now() - started);
  }

  /**
   * One unit-length vector per text, in order. Small batches: onnxruntime's arena keeps the peak
   * activations of the largest batch for the life of the session, and attention grows with batch x
   * heads x tokens^2. Measured with the MiniLM-shaped int8 model over 16 texts of ~200 tokens:
   * batches of 16 leave the process at 339 MiB, of 4 at 189 MiB, for the same total time.
   */
  async embed(texts: string[], batchSize = EMBED_BATCH): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += batchSize) {
      const batch = texts.slice(i, i + batchSize).map((t) => (t.trim() === '' ? ' ' : t));
      const res = await this.extractor(batch, { pooling: 'mean', normalize: true });
      for (let j = 0; j < batch.length; j++) out.push(Float32Array.from(res.data.subarray(j * this.dim, (j + 1) * this.dim)));
    }
    return out;
  }
}

export function vectorToBase64(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function vectorFromBase64(s: string, dim?: number): Float32Array | undefined {
  const buf = Buffer.from(s, 'base64');
  if (buf.byteLength % 4 !== 0) return undefined;
  const v = new Float32Array(buf.byteLength / 4);
  new Uint8Array(v.buffer).set(buf);
  if (dim !== undefined && v.length !== dim) return undefined;
  return v;
}
