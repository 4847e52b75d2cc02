// Diffusion benchmarks, printed side by side:
//   1. one U-Net forward at the REAL SD 1.5 config (random weights, 32×32 latents, batch 1, 77×768 condition)
//      on ORT CPU vs tfjs, with GFLOP/s from a shape-only FLOP count of the same forward;
//   2. a full 20-step guided sample (DPM-Solver++ 2M, guidance 7.5, batch 1 → 2 with CFG) at the small config.
// Run: npx tsx bench/diffusion/main.ts [--skip-real] [--narrow | --real-only] [--runs N] [--backend onnx|tfjs]
// It allocates ~3.4 GB of host weights (+ the backends' copies) for the real U-Net: run it once, briefly.

import { getRunner } from '../../models/runtime/runners.ts';
import type { BackendName } from '../../models/runtime/runner.ts';
import { hostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SD15_UNET_CONFIG, SMALL_UNET_CONFIG, type UNetConfig } from '../../models/unet/config.ts';
import { unetEntry } from '../../models/unet/entries.ts';
import { createScheduler } from '../../models/schedulers/index.ts';
import { initialLatents, sampleGuided } from '../../models/sampling/guided.ts';
import { FlopCounter } from './flops.ts';
import { unetPredictEps } from './unet-eps.ts';

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 2;
// --backend onnx|tfjs runs one (the real U-Net needs ~7 GB per backend: separate processes keep the peak lower).
const only = args.includes('--backend') ? (args[args.indexOf('--backend') + 1] as BackendName) : undefined;
const backends: BackendName[] = only ? [only] : ['onnx', 'tfjs'];

const rand = (shape: number[], seed: number) => hostTensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function countFlops(unet: UNet2DConditionModel, side: number, context: number[]): number {
  const f = new FlopCounter();
  unet.forward(f, { shape: [1, unet.config.inChannels, side, side] }, { shape: [1] }, { shape: context });
  return f.flops;
}

async function unetForward(config: UNetConfig, label: string, side: number, contextShape: number[]): Promise<string[]> {
  const unet = new UNet2DConditionModel(config, 0);
  const flops = countFlops(unet, side, contextShape);
  let t = performance.now();
  for (const p of unet.parameters()) void p.data; // materialise the random weights once, outside the timings
  const initMs = performance.now() - t;
  const inputs = [rand([1, config.inChannels, side, side], 1), hostTensor(new Float32Array([500]), [1]), rand(contextShape, 2)];
  const rows: string[] = [];
  for (const backend of backends) {
    const runner = await getRunner(backend);
    t = performance.now();
    try {
      await runner.run(unet, 'unet', unetEntry(unet), inputs);
    } catch (e) {
      // tfjs-wasm is a wasm32 module: its heap stops at 4 GB, and the real U-Net's fp32 weights alone are 3.44 GB.
      rows.push(`| ${label} | ${backend} | ${(flops / 1e9).toFixed(1)} | failed: ${(e as Error).message.slice(0, 80)} | — | — |`);
      continue;
    }
    const firstMs = performance.now() - t;
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      t = performance.now();
      await runner.run(unet, 'unet', unetEntry(unet), inputs);
      times.push(performance.now() - t);
    }
    const ms = median(times);
    rows.push(
      `| ${label} | ${backend} | ${(flops / 1e9).toFixed(1)} | ${firstMs.toFixed(0)} | ${ms.toFixed(0)} | ${(flops / 1e6 / ms).toFixed(1)} |`,
    );
  }
  console.log(`(${label}: ${(unet.parameterCount() / 1e6).toFixed(1)} M parameters, random init ${(initMs / 1000).toFixed(1)} s)`);
  return rows;
}

async function guidedSample(steps: number) {
  const unet = new UNet2DConditionModel(SMALL_UNET_CONFIG, 0);
  const cond = rand([1, 77, SMALL_UNET_CONFIG.crossAttentionDim], 3);
  const uncond = rand([1, 77, SMALL_UNET_CONFIG.crossAttentionDim], 4);
  const rows: string[] = [];
  for (const backend of backends) {
    const runner = await getRunner(backend);
    const once = async () => {
      const scheduler = createScheduler('dpmsolver++', {}, { steps });
      const t = performance.now();
      await sampleGuided({
        scheduler,
        latents: initialLatents(scheduler, [1, 4, 8, 8], 7),
        cond,
        uncond,
        guidanceScale: 7.5,
        predictEps: unetPredictEps(runner, unet),
      });
      return performance.now() - t;
    };
    const first = await once();
    const ms = await once();
    rows.push(`| small U-Net, 20 guided steps (8×8 latent, CFG batch 2) | ${backend} | ${first.toFixed(0)} | ${ms.toFixed(0)} | ${(ms / steps).toFixed(1)} |`);
  }
  return rows;
}

console.log(`# diffusion bench (${new Date().toISOString()}, node ${process.version})\n`);
if (!args.includes('--skip-real')) {
  const rows = args.includes('--narrow')
    ? []
    : await unetForward(SD15_UNET_CONFIG, 'SD 1.5 U-Net, 32×32 latent', 32, [1, 77, 768]);
  // SD 1.5's first three levels (320/640/1280, cross-attention 768, 8 heads) with one layer per block: 420 M
  // parameters, small enough for tfjs-wasm's heap, so both backends run SD 1.5-sized convolutions and attention.
  if (!args.includes('--real-only')) {
    const narrow: UNetConfig = {
      ...SD15_UNET_CONFIG,
      blockOutChannels: [320, 640, 1280],
      layersPerBlock: 1,
      downBlockTypes: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'],
      upBlockTypes: ['CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    };
    rows.push(...(await unetForward(narrow, 'SD 1.5 levels 1–3, 1 layer/block, 32×32', 32, [1, 77, 768])));
  }
  console.log('\n| model | backend | GFLOP | first run ms (incl. trace/upload) | median ms | GFLOP/s |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
}
console.log('\n| sampling | backend | first ms | second ms | ms/step |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of await guidedSample(20)) console.log(r);
