import { formatOption, type OutputFormat } from './options.js';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { DEFAULT_MODEL_ID, Embedder, locateModel } from '../knowledge/embedder.js';
import { UserError } from '../shared/errors.js';
import { modelDir } from '../shared/paths.js';

/*
 * `reflexgen models ...`: the embedding model lives in a local folder (REFLEXGEN_MODEL_DIR, default
 * <state>/models) in the layout transformers.js reads: <dir>/<org>/<name>/{config,tokenizer}.json
 * and onnx/model_quantized.onnx. Only `pull` touches the network.
 */

const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'onnx/model_quantized.onnx'];
const REQUIRED = new Set(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']);


function out(s: string): void {
  process.stdout.write(s + '\n');
}

/** A folder given to import is either the model folder itself or a root that holds <org>/<name>. */
function findModelFolder(dir: string, modelId: string): string | undefined {
  const d = resolve(dir);
  if (existsSync(join(d, 'config.json'))) return d;
  if (existsSync(join(d, modelId, 'config.json'))) return join(d, modelId);
  return undefined;
}

async function verify(root: string, modelId: string): Promise<Embedder> {
  try {
    const e = await Embedder.load(root, modelId);
    const [v] = await e.embed(['SELECT * FROM users WHERE name = %s']);
    if (!v || v.length !== e.dim || v.some((x) => !Number.isFinite(x))) throw new Error('the model produced no usable embedding');
    return e;
  } catch (err) {
    throw new UserError(`the model in ${root} does not load: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Copies into a staging folder and swaps it in only once it loads, so a bad import leaves the old model. */
async function install(fromFolder: string, modelId: string, root: string): Promise<Embedder> {
  const target = join(root, modelId);
  const stagingRoot = join(root, `.staging-${process.pid}`);
  const staging = join(stagingRoot, modelId);
  rmSync(stagingRoot, { recursive: true, force: true });
  mkdirSync(dirname(staging), { recursive: true });
  try {
    cpSync(fromFolder, staging, { recursive: true });
    const embedder = await verify(stagingRoot, modelId);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(dirname(target), { recursive: true });
    renameSync(staging, target);
    return embedder;
  } finally {
    rmSync(stagingRoot, { recursive: true, force: true });
  }
}

export function registerModelsCommands(program: Command): void {
  const models = program.command('models').description('the on-device embedding model used by the knowledge base');

  models
    .command('status')
    .description('where the model is expected and whether it is there (--check also loads it)')
    .option('--model <id>', 'model id', DEFAULT_MODEL_ID)
    .option('--check', 'load the model and embed a probe')
    .addOption(formatOption())
    .action(async (o: { model: string; check?: boolean; format: OutputFormat }) => {
      const root = modelDir();
      const loc = locateModel(root, o.model);
      const status: Record<string, unknown> = {
        modelDir: root,
        model: o.model,
        path: loc.dir,
        installed: loc.missing.length === 0,
        missing: loc.missing,
        weights: loc.weights ? { file: loc.weights.file, bytes: loc.weights.bytes, dtype: loc.weights.dtype } : null,
      };
      if (o.check && loc.missing.length === 0) {
        const e = await verify(root, o.model);
        status.loaded = { fingerprint: e.fingerprint, dim: e.dim, loadMs: Math.round(e.loadMs) };
      }
      if (o.format === 'json') return out(JSON.stringify(status, null, 2));
      out(`model dir: ${root}`);
      out(`model:     ${o.model}`);
      if (loc.missing.length === 0) out(`installed: yes (${loc.weights!.file}, ${(loc.weights!.bytes / 1e6).toFixed(1)} MB)`);
      else out(`installed: no (missing ${loc.missing.join(', ')}); retrieval is lexical only. Use \`reflexgen models import <dir>\` or \`reflexgen models pull\`.`);
      if (status.loaded) {
        const l = status.loaded as { fingerprint: string; dim: number; loadMs: number };
        out(`loads:     yes, ${l.dim} dims in ${l.loadMs} ms (${l.fingerprint})`);
      }
    });

  models
    .command('import <dir>')
    .description('copy a model folder (e.g. a downloaded Xenova/all-MiniLM-L6-v2) into the model dir and verify it loads')
    .option('--model <id>', 'model id', DEFAULT_MODEL_ID)
    .addOption(formatOption())
    .action(async (dir: string, o: { model: string; format: OutputFormat }) => {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${dir} is not a directory`);
      const from = findModelFolder(dir, o.model);
      if (!from) throw new UserError(`${dir} holds no model: expected config.json there or under ${o.model}/`);
      if (!existsSync(join(from, 'onnx', 'model_quantized.onnx')) && !existsSync(join(from, 'onnx', 'model.onnx'))) {
        throw new UserError(`${from} has no onnx/model_quantized.onnx or onnx/model.onnx`);
      }
      const root = modelDir();
      const e = await install(from, o.model, root);
      const result = { model: o.model, path: join(root, o.model), fingerprint: e.fingerprint, dim: e.dim };
      if (o.format === 'json') return out(JSON.stringify(result, null, 2));
      out(`imported ${o.model} into ${result.path} (${e.dim} dims, loads in ${Math.round(e.loadMs)} ms)`);
      out('a running daemon picks it up after a restart (reflexgen daemon stop)');
    });

  models
    .command('pull')
    .description('download the model from the model hub (the one command that uses the network)')
    .option('--model <id>', 'model id', DEFAULT_MODEL_ID)
    .option('--host <url>', 'model hub', process.env.REFLEXGEN_MODEL_HUB ?? 'https://huggingface.co')
    .option('--revision <rev>', 'revision', 'main')
    .addOption(formatOption())
    .action(async (o: { model: string; host: string; revision: string; format: OutputFormat }) => {
      const stagingRoot = join(modelDir(), `.download-${process.pid}`);
      const folder = join(stagingRoot, o.model);
      rmSync(stagingRoot, { recursive: true, force: true });
      try {
        for (const file of MODEL_FILES) {
          const url = `${o.host.replace(/\/$/, '')}/${o.model}/resolve/${encodeURIComponent(o.revision)}/${file}`;
          let res: Response;
          try {
            res = await fetch(url);
          } catch (err) {
            throw new UserError(`cannot reach ${o.host}: ${(err as Error).message}; download the files elsewhere and use \`reflexgen models import <dir>\``);
          }
          if (!res.ok) {
            if (!REQUIRED.has(file) && res.status === 404) continue;
            throw new UserError(`${url}: HTTP ${res.status}`);
          }
          mkdirSync(dirname(join(folder, file)), { recursive: true });
          writeFileSync(join(folder, file), Buffer.from(await res.arrayBuffer()));
          if (o.format === 'text') process.stderr.write(`fetched ${file}\n`);
        }
        const e = await install(folder, o.model, modelDir());
        if (o.format === 'json') return out(JSON.stringify({ model: o.model, path: join(modelDir(), o.model), fingerprint: e.fingerprint, dim: e.dim }, null, 2));
        out(`installed ${o.model} in ${join(modelDir(), o.model)} (${e.dim} dims)`);
      } finally {
        rmSync(stagingRoot, { recursive: true, force: true });
      }
    });
}
