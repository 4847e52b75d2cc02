// Peak resident memory of one model forward through the ONNX runner, beside the size of the model's fp32 weights:
// the real-size SD 1.5 U-Net (64×64 latents, batch 2, 77×768 condition: one classifier-free-guided step at 512²)
// and the real-size VAE decoder (64×64 latents → 512×512 image), each in a fresh child process so one's peak does
// not hide the other's. The child traces, writes and opens the model in an empty cache folder (the first-use
// path, the worst case) and reads its peak RSS (VmHWM) from /proc/self/status, also at each stage.
//
// Run: npx tsx bench/diffusion/memory.ts [--small | --div N] [--only unet|vae]
// ORT settings come from the environment as in any run (KOSMOS_G_ORT_GRAPH_OPT, KOSMOS_G_ORT_ARENA,
// KOSMOS_G_ORT_KEEP_HOST_WEIGHTS, KOSMOS_G_ORT_THREADS): the children inherit it.
// The real U-Net needs ~6–11 GB and minutes of CPU: run it on an otherwise idle machine, once.
// The goal (issue 20): peak ≤ 1.3 × fp32 weights + 2 GB.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostTensor, type HostTensor } from '../../models/ops/ops.ts';
import { randn } from '../../models/ops/random.ts';
import type { Module } from '../../models/nn/module.ts';
import type { ForwardFn } from '../../models/runtime/runner.ts';
import { OnnxRunner } from '../../models/backends/onnx/runner.ts';
import { openSession } from '../../models/backends/onnx/session.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SD15_UNET_CONFIG, SMALL_UNET_CONFIG } from '../../models/unet/config.ts';
import { unetEntry, vaeDecodeEntry } from '../../models/unet/entries.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SD15_VAE_CONFIG, SMALL_VAE_CONFIG } from '../../models/vae/config.ts';

const GB = 1e9;
const args = process.argv.slice(2);
const small = args.includes('--small');
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
// --div N: the real structure with every width ÷ N (1/N² of the weights) and 32×32 latents, written with external
// data like the real size: a quick look at the ratios on a busy machine. Not the goal's measurement.
const div = Number(args[args.indexOf('--div') + 1]) || 1;

interface Stage {
  stage: string;
  rssGb: number;
  peakGb: number;
  /** Of the RSS now: anonymous memory (host arrays, ORT's own tensors) and mapped files (a mapped side file). */
  anonGb: number;
  fileGb: number;
  /** Since the previous stage. */
  seconds: number;
}

interface ChildResult {
  model: string;
  params: number;
  weightsGb: number;
  stages: Stage[];
  peakGb: number;
  seconds: number;
}

function status(): Omit<Stage, 'stage' | 'seconds'> {
  const s = readFileSync('/proc/self/status', 'utf8');
  const gb = (field: string) => (Number(new RegExp(`${field}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024) / GB;
  return { rssGb: gb('VmRSS'), peakGb: gb('VmHWM'), anonGb: gb('RssAnon'), fileGb: gb('RssFile') };
}

const rand = (shape: number[], seed: number) => hostTensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);

function subject(name: string): { model: Module; entry: string; forward: ForwardFn; inputs: HostTensor[] } {
  if (name === 'unet') {
    const real = SD15_UNET_CONFIG;
    const config = small ? SMALL_UNET_CONFIG : { ...real, blockOutChannels: real.blockOutChannels.map((c) => c / div), crossAttentionDim: real.crossAttentionDim / div };
    const side = small ? 8 : div > 1 ? 32 : 64;
    const model = new UNet2DConditionModel(config, 0);
    const inputs = [rand([2, config.inChannels, side, side], 1), hostTensor(new Float32Array([500, 500]), [2]), rand([2, 77, config.crossAttentionDim], 2)];
    return { model, entry: 'unet', forward: unetEntry(model), inputs };
  }
  if (name === 'vae') {
    const real = SD15_VAE_CONFIG;
    const model = new AutoencoderKL(small ? SMALL_VAE_CONFIG : { ...real, blockOutChannels: real.blockOutChannels.map((c) => c / div) }, 0);
    const side = small ? 8 : div > 1 ? 32 : 64;
    return { model, entry: 'vae_decode', forward: vaeDecodeEntry(model), inputs: [rand([1, 4, side, side], 1)] };
  }
  throw new Error(`unknown model '${name}' (unet or vae)`);
}

async function child(name: string): Promise<void> {
  const t0 = performance.now();
  const stages: Stage[] = [];
  let last = t0;
  const mark = (stage: string) => {
    const now = performance.now();
    stages.push({ stage, ...status(), seconds: (now - last) / 1000 });
    last = now;
  };
  const { model, entry, forward, inputs } = subject(name);
  for (const p of model.parameters()) void p.data; // the weights as a loader leaves them: materialised on the host
  mark('weights on the host');
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kosmos-g-mem-'));
  try {
    const weightBytes = model.parameterCount() * 4;
    const runner = new OnnxRunner(cache, undefined, div > 1 ? weightBytes / 2 : undefined);
    const compiled = runner.compile(model, entry, forward, inputs);
    mark('traced + written');
    await runner.sessions.get(compiled.key, () => openSession(compiled.file, runner.provider));
    mark('session opened');
    await runner.run(model, entry, forward, inputs);
    mark('first forward');
    await runner.run(model, entry, forward, inputs);
    mark('second forward');
    await runner.sessions.clear();
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
  const params = model.parameterCount();
  const result: ChildResult = { model: name, params, weightsGb: (params * 4) / GB, stages, peakGb: status().peakGb, seconds: (performance.now() - t0) / 1000 };
  console.log(`RESULT ${JSON.stringify(result)}`);
}

function runChild(name: string): ChildResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', name, ...(small ? ['--small'] : []), '--div', String(div)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`${name} child failed (exit ${r.status}, signal ${r.signal}):\n${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as ChildResult;
}

async function main(): Promise<void> {
  const childAt = args.indexOf('--child');
  if (childAt >= 0) return child(args[childAt + 1]);
  const names = only ? [only] : ['unet', 'vae'];
  console.log(`peak RSS of one forward through ONNX Runtime, fresh process each (${small ? 'SMALL configs' : div > 1 ? `real structure, widths ÷ ${div}, 32×32 latents` : 'real SD 1.5 sizes'}; ${os.cpus().length} cores, ${(os.totalmem() / GB).toFixed(1)} GB RAM, load ${os.loadavg()[0].toFixed(1)})`);
  const results = names.map(runChild);
  console.log('\n| model | parameters | fp32 weights GB | peak RSS GB | peak / weights | goal 1.3×w+2 GB | met | s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const goal = 1.3 * r.weightsGb + 2;
    console.log(
      `| ${r.model} | ${(r.params / 1e6).toFixed(1)} M | ${r.weightsGb.toFixed(2)} | ${r.peakGb.toFixed(2)} | ${(r.peakGb / r.weightsGb).toFixed(2)}× | ${goal.toFixed(2)} | ${r.peakGb <= goal ? 'yes' : 'no'} | ${r.seconds.toFixed(0)} |`,
    );
  }
  for (const r of results) {
    console.log(`\n${r.model}, by stage (GB): RSS now (anonymous + mapped files) / peak so far, seconds the stage took`);
    for (const s of r.stages) {
      console.log(`  ${s.stage.padEnd(22)} ${s.rssGb.toFixed(2)} (${s.anonGb.toFixed(2)} + ${s.fileGb.toFixed(2)}) / ${s.peakGb.toFixed(2)}  ${s.seconds.toFixed(1)} s`);
    }
  }
}

await main();
