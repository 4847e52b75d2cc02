// KOSMOS-G benchmarks, printed side by side (ORT CPU vs tfjs):
//   1. KosmosGEncode at the small config: condition (prompt "<i> in the jungle" + one image) and null condition;
//   2. the MLLM forward at the REAL config (width 2048, 32 heads, FFN 8192, vocab 64007; random weights) on a
//      70-token prompt whose 64 image slots take random features — the length of "<i> in the jungle" (spec §1.3).
// Run: npx tsx bench/kosmos/main.ts [--layers N (default 24)] [--runs N] [--skip-real] [--backends onnx,tfjs]
// The real 24-layer MLLM is 1.34 B parameters = 5.4 GB of host weights, plus each backend's copy; tfjs-wasm has a
// 32-bit heap and aborts beyond about 2 GB, so on tfjs the bench measures 2 layers and extrapolates per layer
// (the table says how many layers each row measured). --layers N limits the ORT model too.

import { getRunner } from '../../models/runtime/runners.ts';
import type { BackendName } from '../../models/runtime/runner.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { Rng } from '../../models/ops/random.ts';
import { imageValue } from '../../models/image.ts';
import { KosmosG } from '../../models/kosmosg/kosmosg.ts';
import { kosmosGSmall } from '../../models/kosmosg/config.ts';
import { encodeKosmosG, mllmEncode, nullCondition } from '../../models/kosmosg/encode.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { MLLM_REAL } from '../../models/mllm/config.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.indexOf(name) >= 0;
const option = (name: string, fallback: string) => (flag(name) ? args[args.indexOf(name) + 1]! : fallback);
const runs = Number(option('--runs', '3'));
const layers = Number(option('--layers', '24'));
const backends = option('--backends', 'onnx,tfjs').split(',') as BackendName[];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** "<i> in the jungle": <s>, <image>, 64 slots, </image>, 3 words = 70 tokens. */
function jungle(image: number, endImage: number) {
  const tokens = [0, image, ...Array(64).fill(image), endImage, 12, 5, 11506 % 512];
  const mask = tokens.map((_, i) => (i >= 2 && i < 66 ? 1 : 0));
  return { tokens: Int32Array.from(tokens), imageMask: Uint8Array.from(mask) };
}

async function small() {
  const model = new KosmosG(kosmosGSmall(512), 0);
  const img = new Float32Array(3 * 256 * 256);
  const rng = new Rng(1);
  for (let i = 0; i < img.length; i++) img[i] = rng.uniform();
  const image = imageValue(img, 1, 256, 256);
  const seq = jungle(300, 301);
  console.log('\n## KosmosGEncode, small config (vision 64×2, MLLM 64×2, AlignerNet 32×2), 256² image, 70 tokens\n');
  console.log('| backend | first run (trace + run) ms | warm cond ms (median) | warm null condition ms |');
  console.log('| --- | --- | --- | --- |');
  for (const backend of backends) {
    const runner = await getRunner(backend);
    const first = await time(() => encodeKosmosG(runner, model, [seq], image));
    await nullCondition(runner, model, 0);
    const warm: number[] = [];
    const nulls: number[] = [];
    for (let i = 0; i < runs; i++) {
      warm.push(await time(() => encodeKosmosG(runner, model, [seq], image)));
      nulls.push(await time(() => nullCondition(runner, model, 0)));
    }
    console.log(`| ${backend} | ${first.toFixed(0)} | ${median(warm).toFixed(1)} | ${median(nulls).toFixed(1)} |`);
  }
}

/** Cheap random weights (uniform ±0.02; LayerNorms 1/0): a real-size init with Box–Muller would dominate the run. */
function fillRandom(m: MLLM) {
  let s = 12345;
  for (const [key, p] of m.namedParameters()) {
    const d = new Float32Array(p.size);
    if (/(layer_norm|_ln|layernorm)\.weight$/.test(key)) d.fill(1);
    else if (!/(layer_norm|_ln|layernorm)\.bias$/.test(key)) {
      for (let i = 0; i < d.length; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        d[i] = (s / 4294967296 - 0.5) * 0.04;
      }
    }
    p.set(d);
  }
}

// tfjs-wasm's heap cannot hold the 5 GB real-size MLLM (it aborts beyond about 2 GB), so on tfjs the layers are
// measured on a model with at most this many and the 24-layer time is extrapolated per layer (said in the table).
const TFJS_MAX_LAYERS = 2;

async function real() {
  console.log(`\n## MLLM forward, REAL width (2048, 32 heads, FFN 8192, vocab 64007), 70 tokens, random weights`);
  console.log('| backend | layers measured | parameters | first run (trace/upload + run) ms | warm ms (median) | warm ms per layer | est. 24 layers ms |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  const seq = jungle(64003, 64004);
  const feats = hostTensor(new Float32Array(64 * 2048).map((_, i) => Math.sin(i) * 0.02), [64, 2048]);
  for (const backend of backends) {
    const measured = backend === 'tfjs' ? Math.min(layers, TFJS_MAX_LAYERS) : layers;
    const mllm = new MLLM({ ...MLLM_REAL, layers: measured }, new Rng(0));
    fillRandom(mllm);
    const params = mllm.parameterCount();
    try {
      const runner = await getRunner(backend);
      const first = await time(() => mllmEncode(runner, mllm, [seq], feats));
      const warm: number[] = [];
      for (let i = 0; i < runs; i++) warm.push(await time(() => mllmEncode(runner, mllm, [seq], feats)));
      const m = median(warm);
      // Everything outside the layers (embedding gather, splice, final LN) is small next to one layer.
      console.log(
        `| ${backend} | ${measured} of 24 | ${(params / 1e9).toFixed(3)} B | ${first.toFixed(0)} | ${m.toFixed(0)} | ${(m / measured).toFixed(1)} | ${((m / measured) * 24).toFixed(0)} |`,
      );
    } catch (e) {
      console.log(`| ${backend} | ${measured} of 24 | ${(params / 1e9).toFixed(3)} B | failed: ${(e as Error).message.split('\n')[0]} | | | |`);
    }
  }
}

await small();
if (!flag('--skip-real')) await real();
