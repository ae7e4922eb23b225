import { describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Embedder, KnowledgeBase, locateModel } from '../../knowledge/index.js';
import { SMALL_CONFIG, standinModelDir, writeStandinModel } from '../../bench/standin-model.js';

describe('embeddings through the production loader', () => {
  test('the stand-in model is found where transformers.js looks for q8 weights', () => {
    const loc = locateModel(standinModelDir());
    expect(loc.missing).toEqual([]);
    expect(loc.weights?.file).toBe('onnx/model_quantized.onnx');
  });

  const cosine = (x: Float32Array, y: Float32Array) => x.reduce((acc, v, k) => acc + v * y[k], 0);
  const texts = ['cursor.execute("SELECT * FROM t WHERE id = %s" % uid)', 'free(p); p->next = NULL;', 'short'];

  test('int8 weights: vectors have the hidden size, unit length, are deterministic, and padding does not leak in', async () => {
    const e = await Embedder.load(standinModelDir());
    expect(e.dim).toBe(SMALL_CONFIG.hidden);
    const a = await e.embed(texts);
    const b = await e.embed(texts, 1);
    expect(a).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      expect(a[i]).toHaveLength(e.dim);
      const norm = Math.sqrt(a[i].reduce((s, x) => s + x * x, 0));
      expect(norm).toBeCloseTo(1, 4);
      // Activations are quantized per call (over the whole padded batch), so batched and one-by-one
      // runs differ in the last digits only; attending to padding would move them much further.
      expect(cosine(a[i], b[i])).toBeGreaterThan(0.999);
    }
    expect(cosine(a[0], a[1])).toBeLessThan(0.99);
    const again = await (await Embedder.load(standinModelDir())).embed(texts);
    expect(Array.from(again[0])).toEqual(Array.from(a[0]));
  });

  test('fp32 weights (onnx/model.onnx) load too, and batched runs equal one-by-one runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-fp32-'));
    try {
      writeStandinModel(dir, SMALL_CONFIG, { weights: ['fp32'] });
      expect(locateModel(dir).weights?.file).toBe('onnx/model.onnx');
      const e = await Embedder.load(dir);
      const a = await e.embed(texts);
      const b = await e.embed(texts, 1);
      // Without quantization the attention mask makes padding exactly irrelevant.
      for (let i = 0; i < 3; i++) for (let j = 0; j < e.dim; j++) expect(a[i][j]).toBeCloseTo(b[i][j], 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing model is reported once and retrieval stays lexical', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kb-nomodel-'));
    const warnings: string[] = [];
    const kb = await KnowledgeBase.open({ dir, modelDir: join(dir, 'no-models-here'), compactEveryMs: 0, log: { info() {}, warn: (m) => void warnings.push(m) } });
    try {
      expect(kb.embeddings.lexicalOnly).toBe(true);
      expect(warnings.filter((w) => /lexical/.test(w))).toHaveLength(1);
      const hits = await kb.retrieve({ text: 'SQL query built by string formatting from request parameters' });
      expect(hits[0].cwe).toContain('CWE-89');
      expect(warnings.filter((w) => /lexical/.test(w))).toHaveLength(1);
    } finally {
      await kb.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
