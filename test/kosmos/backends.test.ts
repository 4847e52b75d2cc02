// Both backends agree (< 1e-4) on every module at small configs: tfjs eager vs the ONNX trace run by ONNX Runtime.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const cacheDir = mkdtempSync(path.join(tmpdir(), 'kosmos-onnx-'));
process.env.KOSMOS_G_CACHE = cacheDir;
after(() => rmSync(cacheDir, { recursive: true, force: true }));

const { getRunner } = await import('../../models/runtime/runners.ts');
const { KosmosG } = await import('../../models/kosmosg/kosmosg.ts');
const { kosmosGSmall } = await import('../../models/kosmosg/config.ts');
const { encodeImages, resample, mllmEncode, alignerEncode, alignerReconstruct } = await import('../../models/kosmosg/encode.ts');
const { CLIPTextModel } = await import('../../models/clip/text-model.ts');
const { CLIP_TEXT_SMALL } = await import('../../models/clip/text-config.ts');
const { Rng } = await import('../../models/ops/random.ts');
const { hostTensor } = await import('../../models/ops/ops.ts');
const { imageValue } = await import('../../models/image.ts');
const { maxAbsDiff, randomImage } = await import('./helpers.ts');

test('onnx and tfjs agree on CLIP vision, connector, MLLM (with splicing), AlignerNet M and N, CLIP text', async () => {
  const tfjs = await getRunner('tfjs');
  const onnx = await getRunner('onnx');
  assert.equal(onnx.backend, 'onnx');
  const model = new KosmosG(kosmosGSmall(512, true), 11);
  const images = imageValue(randomImage(2, 30, 26, 4), 2, 30, 26);
  const tokens = [0, 5, ...Array(65).fill(300), 301, 6, ...Array(65).fill(300), 301, 7];
  const mask = tokens.map((_, i) => ((i >= 3 && i <= 66) || (i >= 70 && i <= 133) ? 1 : 0));
  const seqs = [{ tokens: Int32Array.from(tokens), imageMask: Uint8Array.from(mask) }];

  const results: Record<string, number> = {};
  const both = async (name: string, f: (r: typeof tfjs) => Promise<import('../../models/ops/ops.ts').HostTensor>) => {
    const [a, b] = [await f(tfjs), await f(onnx)];
    results[name] = maxAbsDiff(a, b);
    return a;
  };
  const vis = await both('clip-vision', (r) => encodeImages(r, model.visual, images));
  const feats = await both('connector', (r) => resample(r, model.connector, vis));
  const states = await both('mllm', async (r) => (await mllmEncode(r, model.mllm, seqs, feats)).states);
  const cond = await both('aligner-m', (r) => alignerEncode(r, model.aligner, states, seqs[0]!.tokens));
  await both('aligner-n', (r) => alignerReconstruct(r, model.aligner, cond, tokens.length));
  const clip = new CLIPTextModel(CLIP_TEXT_SMALL, new Rng(12));
  const ids = hostTensor(Int32Array.from({ length: 77 }, (_, i) => (i * 7) % 512), [1, 77]);
  await both('clip-text', async (r) => (await r.run(clip, 'clip-text', (ops, [x]) => [clip.forward(ops, x!)], [ids]))[0]!);
  console.log(`# onnx vs tfjs max |diff|: ${JSON.stringify(results)}`);
  for (const [name, d] of Object.entries(results)) assert.ok(d < 1e-4, `${name}: ${d}`);
});
