// Speed at 512² (issue 20, item 4), the attention traced unfused (KOSMOS_G_ORT_ATTENTION=unfused: split heads,
// MatMul → Softmax → MatMul, merge) and as the tracer does by default (auto: ONNX Runtime's fused
// MultiHeadAttention for the self-attention), each in a fresh child process:
//
//   forward   the real SD 1.5 U-Net (random weights) at 64×64 latents, batch 2, 77×768 condition (one guided step
//             at 512²): first run (trace, write, open, run), then after a second, untimed, the median of --runs runs, GFLOP/s from a shape-only FLOP
//             count, and the kernel ceiling measured in the same process between the U-Net runs: two 3×3
//             convolutions 320→320 on [2, 320, 64, 64] and two linears 320→2560→320 on [2, 4096, 320] (the first
//             level's resnet convs and feed-forward) through the same ONNX runner. The ceiling is the rate the U-Net
//             would reach if its convolution FLOPs ran at the convolutions' rate and the rest (linear, matmul,
//             attention) at the linears': F / (F_conv / R_conv + F_other / R_linear). Peak RSS is the child's.
//   alternate both modes' forwards in one process, alternating run by run with the ceiling between (the fair
//             time comparison on a shared machine; ~11 GB: two sessions).
//   profile   the same forward's kernel time by ONNX Runtime op type (its profiler, the third run): where the time
//             goes, and what the fused attention replaced.
//   generate  a full 512² generation: DPM-Solver++ 2M, --steps steps (25), guidance 7.5 (the U-Net at batch 2),
//             then the real-size VAE decode to 512×512; total time, per-step time after the first, peak RSS.
//
// Run: KOSMOS_G_ORT_THREADS=1 nice -n 10 npx tsx bench/diffusion/speed-512.ts [forward] [alternate] [profile] [generate]
//        [--runs N] [--steps N] [--only unfused|auto] [--div N]
// (no part named: forward only). --div N divides every width and group count by N (a quick look, not the measurement). Each child
// needs ~4–7 GB and, on one thread, ~30–60 s per U-Net forward: the 25-step generation takes ~15–25 min per mode.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { OnnxRunner } from '../../models/backends/onnx/runner.ts';
import { Module } from '../../models/nn/module.ts';
import { Conv2d, Linear } from '../../models/nn/layers.ts';
import { Rng, randn } from '../../models/ops/random.ts';
import { hostTensor, type Ops } from '../../models/ops/ops.ts';
import { UNet2DConditionModel } from '../../models/unet/unet.ts';
import { SD15_UNET_CONFIG, type UNetConfig } from '../../models/unet/config.ts';
import { unetEntry, vaeDecodeEntry } from '../../models/unet/entries.ts';
import { AutoencoderKL } from '../../models/vae/autoencoder.ts';
import { SD15_VAE_CONFIG } from '../../models/vae/config.ts';
import { createScheduler } from '../../models/schedulers/index.ts';
import { initialLatents, sampleGuided } from '../../models/sampling/guided.ts';
import { FlopCounter } from './flops.ts';
import { unetPredictEps } from './unet-eps.ts';

const MODES = ['unfused', 'auto'] as const;
type Mode = (typeof MODES)[number];
const args = process.argv.slice(2);
const opt = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const runs = Number(opt('--runs')) || 3;
const steps = Number(opt('--steps')) || 25;
const div = Number(opt('--div')) || 1;
const modes: Mode[] = opt('--only') ? [opt('--only') as Mode] : [...MODES];

const rand = (shape: number[], seed: number) => hostTensor(randn(shape.reduce((a, b) => a * b, 1), seed), shape);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const peakGb = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024 / 1e9;
const unetConfig = (): UNetConfig => ({
  ...SD15_UNET_CONFIG,
  blockOutChannels: SD15_UNET_CONFIG.blockOutChannels.map((c) => c / div),
  crossAttentionDim: SD15_UNET_CONFIG.crossAttentionDim / div,
  normNumGroups: SD15_UNET_CONFIG.normNumGroups / div,
});

/** Two 3×3 convolutions 320→320 on [2, 320, 64, 64], as in the first level's resnets. */
class ConvPair extends Module {
  readonly a = new Conv2d(320 / div, 320 / div, 3, new Rng(1), { padding: 1 });
  readonly b = new Conv2d(320 / div, 320 / div, 3, new Rng(2), { padding: 1 });
  forward<T>(ops: Ops<T>, x: T): T {
    return this.b.forward(ops, this.a.forward(ops, x));
  }
}

/** A linear 320→2560 and back on [2, 4096, 320], as the first level's feed-forward (GEGLU projection, output). */
class LinearPair extends Module {
  readonly a = new Linear(320 / div, 2560 / div, new Rng(3));
  readonly b = new Linear(2560 / div, 320 / div, new Rng(4));
  forward<T>(ops: Ops<T>, x: T): T {
    return this.b.forward(ops, this.a.forward(ops, x));
  }
}

/**
 * The kernel ceiling's two measurements, through the same runner as the U-Net. Each model chains two kernels so
 * that its input and output ([2, 320, 64, 64] / [2, 4096, 320], 10 MB: copied in and out by the runner) stay small
 * beside its work, as the U-Net's do (a single 320→2560 linear spent more time returning its 84 MB output than
 * in its product).
 */
class CeilingKernels {
  readonly conv = new ConvPair();
  readonly linear = new LinearPair();
  readonly convInput = rand([2, 320 / div, 64, 64], 3);
  readonly linearInput = rand([2, 4096, 320 / div], 4);
  readonly convFlops = 2 * 2 * 2 * (320 / div) * 64 * 64 * (320 / div) * 9;
  readonly linearFlops = 2 * 2 * 2 * 4096 * (320 / div) * (2560 / div);
  readonly convMs: number[] = [];
  readonly linearMs: number[] = [];
  async time(runner: OnnxRunner, record: boolean): Promise<void> {
    for (const [m, input, into] of [[this.conv, this.convInput, this.convMs], [this.linear, this.linearInput, this.linearMs]] as const) {
      const t = performance.now();
      await runner.run(m, 'ceiling', (ops, [x]) => [m.forward(ops, x!)], [input]);
      if (record) into.push(performance.now() - t);
    }
  }
}

interface ForwardResult {
  mode: Mode;
  flops: number;
  convFlops: number;
  firstMs: number;
  ms: number;
  convRate: number;
  linearRate: number;
  peakGb: number;
}

/** The U-Net with its weights materialised (as a loader leaves them), its FLOP count and a guided step's inputs. */
function unetSubject() {
  const config = unetConfig();
  const unet = new UNet2DConditionModel(config, 0);
  const count = new FlopCounter();
  unet.forward(count, { shape: [2, 4, 64, 64] }, { shape: [2] }, { shape: [2, 77, config.crossAttentionDim] });
  for (const p of unet.parameters()) void p.data;
  const inputs = [rand([2, 4, 64, 64], 1), hostTensor(new Float32Array([500, 500]), [2]), rand([2, 77, config.crossAttentionDim], 2)];
  return { unet, count, inputs };
}

async function forwardChild(mode: Mode): Promise<ForwardResult> {
  const { unet, count, inputs } = unetSubject();
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kosmos-g-speed-'));
  try {
    const runner = new OnnxRunner(cache);
    const kernels = new CeilingKernels();
    // Trace, open, and warm: ORT's arena takes a few runs to hold every block a run needs (until then the runs
    // fault fresh pages in: a kernel pair's second run took 2.5× its fourth).
    for (let i = 0; i < 4; i++) await kernels.time(runner, false);
    let t = performance.now();
    await runner.run(unet, 'unet', unetEntry(unet), inputs);
    const firstMs = performance.now() - t;
    await runner.run(unet, 'unet', unetEntry(unet), inputs);
    const times: number[] = [];
    // Interleaved, so a change in the machine's load reaches the ceiling and the U-Net alike.
    for (let i = 0; i < runs; i++) {
      await kernels.time(runner, true);
      t = performance.now();
      await runner.run(unet, 'unet', unetEntry(unet), inputs);
      times.push(performance.now() - t);
    }
    await kernels.time(runner, true);
    await runner.sessions.clear();
    return {
      mode,
      flops: count.flops,
      convFlops: count.convFlops,
      firstMs,
      ms: median(times),
      convRate: kernels.convFlops / 1e6 / median(kernels.convMs),
      linearRate: kernels.linearFlops / 1e6 / median(kernels.linearMs),
      peakGb: peakGb(),
    };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

interface AlternateResult {
  flops: number;
  convFlops: number;
  ms: Record<Mode, number>;
  convRate: number;
  linearRate: number;
}

/**
 * Both modes in one process, their runs alternating (the order swapped every round) with the ceiling kernels
 * between: on a shared machine, sequential children see different loads (the same kernel pair has measured 120
 * and 163 GFLOP/s in two children of one run), alternating runs see the same.
 */
async function alternateChild(): Promise<AlternateResult> {
  const { unet, count, inputs } = unetSubject();
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kosmos-g-speed-'));
  try {
    const runners = new Map<Mode, OnnxRunner>();
    for (const mode of MODES) {
      process.env.KOSMOS_G_ORT_ATTENTION = mode; // read when this runner traces, on its first run
      const runner = new OnnxRunner(cache);
      runners.set(mode, runner);
      for (let i = 0; i < 2; i++) await runner.run(unet, 'unet', unetEntry(unet), inputs);
    }
    const kernels = new CeilingKernels();
    const kernelRunner = runners.get('auto')!;
    for (let i = 0; i < 4; i++) await kernels.time(kernelRunner, false);
    const times: Record<Mode, number[]> = { unfused: [], auto: [] };
    for (let i = 0; i < runs; i++) {
      await kernels.time(kernelRunner, true);
      for (const mode of i % 2 ? [...MODES].reverse() : MODES) {
        const t = performance.now();
        await runners.get(mode)!.run(unet, 'unet', unetEntry(unet), inputs);
        times[mode].push(performance.now() - t);
      }
    }
    await kernels.time(kernelRunner, true);
    for (const r of runners.values()) await r.sessions.clear();
    return {
      flops: count.flops,
      convFlops: count.convFlops,
      ms: { unfused: median(times.unfused), auto: median(times.auto) },
      convRate: kernels.convFlops / 1e6 / median(kernels.convMs),
      linearRate: kernels.linearFlops / 1e6 / median(kernels.linearMs),
    };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

interface ProfileResult {
  mode: Mode;
  /** Kernel milliseconds per ONNX Runtime op type in the U-Net's third run, and that run's whole time. */
  byOp: Record<string, number>;
  runMs: number;
}

/** One U-Net forward's kernel time by op type, from ONNX Runtime's profile of its third run (arena warm). */
async function profileChild(mode: Mode): Promise<ProfileResult> {
  const config = unetConfig();
  const unet = new UNet2DConditionModel(config, 0);
  for (const p of unet.parameters()) void p.data;
  const inputs = [rand([2, 4, 64, 64], 1), hostTensor(new Float32Array([500, 500]), [2]), rand([2, 77, config.crossAttentionDim], 2)];
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kosmos-g-speed-'));
  process.env.KOSMOS_G_ORT_PROFILE = path.join(cache, 'profile');
  try {
    const runner = new OnnxRunner(cache);
    for (let i = 0; i < 3; i++) await runner.run(unet, 'unet', unetEntry(unet), inputs);
    await runner.sessions.clear(); // ORT writes the profile when the session ends
    const file = readdirSync(cache).find((f) => f.startsWith('profile') && f.endsWith('.json'))!;
    type Event = { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } };
    const events = JSON.parse(readFileSync(path.join(cache, file), 'utf8')) as Event[];
    const last = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').at(-1)!;
    const byOp: Record<string, number> = {};
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || e.ts < last.ts || e.ts > last.ts + last.dur) continue;
      const op = e.args?.op_name ?? '?';
      byOp[op] = (byOp[op] ?? 0) + e.dur / 1000;
    }
    return { mode, byOp, runMs: last.dur / 1000 };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

interface GenerateResult {
  mode: Mode;
  steps: number;
  totalMs: number;
  firstStepMs: number;
  stepMs: number;
  decodeMs: number;
  peakGb: number;
}

async function generateChild(mode: Mode): Promise<GenerateResult> {
  const config = unetConfig();
  const unet = new UNet2DConditionModel(config, 0);
  const vae = new AutoencoderKL({ ...SD15_VAE_CONFIG, blockOutChannels: SD15_VAE_CONFIG.blockOutChannels.map((c) => c / div), normNumGroups: SD15_VAE_CONFIG.normNumGroups / div }, 1);
  for (const p of [...unet.parameters(), ...vae.parameters()]) void p.data; // as a loader leaves them
  const cond = rand([1, 77, config.crossAttentionDim], 3);
  const uncond = rand([1, 77, config.crossAttentionDim], 4);
  const cache = mkdtempSync(path.join(os.tmpdir(), 'kosmos-g-speed-'));
  try {
    const runner = new OnnxRunner(cache);
    const scheduler = createScheduler('dpmsolver++', {}, { steps });
    const stepEnds: number[] = [];
    const t0 = performance.now();
    const latents = await sampleGuided({
      scheduler,
      latents: initialLatents(scheduler, [1, 4, 64, 64], 7),
      cond,
      uncond,
      guidanceScale: 7.5,
      predictEps: unetPredictEps(runner, unet),
      onStep: (done) => {
        stepEnds.push(performance.now());
        process.stderr.write(`  ${mode}: step ${done}/${steps} at ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      },
    });
    const tDecode = performance.now();
    await runner.run(vae, 'vae_decode', vaeDecodeEntry(vae), [latents]);
    const end = performance.now();
    await runner.sessions.clear();
    const perStep = stepEnds.slice(1).map((e, i) => e - stepEnds[i]!);
    return {
      mode,
      steps,
      totalMs: end - t0,
      firstStepMs: stepEnds[0]! - t0,
      stepMs: median(perStep),
      decodeMs: end - tDecode,
      peakGb: peakGb(),
    };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

function runChild<R>(part: string, mode: Mode): R {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', part, mode, ...args], {
    encoding: 'utf8',
    env: { ...process.env, KOSMOS_G_ORT_ATTENTION: mode },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 2 ** 20,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0 || !line) throw new Error(`${part} ${mode} child failed (exit ${r.status}, signal ${r.signal}):\n${r.stdout.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as R;
}

async function main(): Promise<void> {
  if (args[0] === '--child') {
    const [, part, mode] = args as [string, string, Mode];
    const result =
      part === 'forward' ? await forwardChild(mode) : part === 'alternate' ? await alternateChild() : part === 'profile' ? await profileChild(mode) : await generateChild(mode);
    console.log(`RESULT ${JSON.stringify(result)}`);
    return;
  }
  const threads = process.env.KOSMOS_G_ORT_THREADS ?? String(os.availableParallelism());
  const size = div > 1 ? `SD 1.5 structure, widths ÷ ${div}` : 'real SD 1.5 sizes, random weights';
  console.log(`# speed at 512² (${new Date().toISOString()}; ORT ${ort.env.versions.common} CPU, ${threads} thread(s); ${size}; ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(1)})`);
  const named = ['forward', 'alternate', 'profile', 'generate'].filter((p) => args.includes(p));
  const parts = named.length ? named : ['forward'];
  if (parts.includes('forward')) {
    const results = modes.map((m) => runChild<ForwardResult>('forward', m));
    console.log(`\nU-Net forward, 64×64 latents, batch 2, 77×768 condition: ${(results[0]!.flops / 1e9).toFixed(0)} GFLOP (${((100 * results[0]!.convFlops) / results[0]!.flops).toFixed(0)} % in convolutions)\n`);
    console.log('| attention | first run s (trace, write, open, run) | median s | GFLOP/s | conv 3×3 GFLOP/s | linear GFLOP/s | ceiling GFLOP/s | U-Net / ceiling | peak RSS GB |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      const rate = r.flops / 1e6 / r.ms;
      const ceiling = r.flops / (r.convFlops / r.convRate + (r.flops - r.convFlops) / r.linearRate);
      console.log(`| ${r.mode} | ${(r.firstMs / 1000).toFixed(1)} | ${(r.ms / 1000).toFixed(2)} | ${rate.toFixed(1)} | ${r.convRate.toFixed(1)} | ${r.linearRate.toFixed(1)} | ${ceiling.toFixed(1)} | ${(rate / ceiling).toFixed(2)} | ${r.peakGb.toFixed(2)} |`);
    }
  }
  if (parts.includes('alternate')) {
    const r = runChild<AlternateResult>('alternate', 'auto');
    const ceiling = r.flops / (r.convFlops / r.convRate + (r.flops - r.convFlops) / r.linearRate);
    console.log(`\nU-Net forward (64×64, batch 2), both modes in one process, runs alternating; ceiling ${ceiling.toFixed(1)} GFLOP/s (conv ${r.convRate.toFixed(1)}, linear ${r.linearRate.toFixed(1)})\n`);
    console.log('| attention | median s | GFLOP/s | U-Net / ceiling |');
    console.log('| --- | --- | --- | --- |');
    for (const mode of MODES) {
      const rate = r.flops / 1e6 / r.ms[mode];
      console.log(`| ${mode} | ${(r.ms[mode] / 1000).toFixed(2)} | ${rate.toFixed(1)} | ${(rate / ceiling).toFixed(2)} |`);
    }
  }
  if (parts.includes('profile')) {
    const results = modes.map((m) => runChild<ProfileResult>('profile', m));
    const ops = [...new Set(results.flatMap((r) => Object.keys(r.byOp)))].sort((a, b) => (results[0]!.byOp[b] ?? 0) - (results[0]!.byOp[a] ?? 0));
    console.log(`\nU-Net forward (64×64, batch 2): kernel time by ONNX Runtime op type, ms, third run (ORT's profile)\n`);
    console.log(`| op | ${results.map((r) => r.mode).join(' | ')} |`);
    console.log(`| --- | ${results.map(() => '---').join(' | ')} |`);
    for (const op of ops) console.log(`| ${op} | ${results.map((r) => (r.byOp[op] ?? 0).toFixed(0)).join(' | ')} |`);
    console.log(`| (whole run) | ${results.map((r) => r.runMs.toFixed(0)).join(' | ')} |`);
  }
  if (parts.includes('generate')) {
    const results = modes.map((m) => runChild<GenerateResult>('generate', m));
    console.log(`\n512² generation: DPM-Solver++ 2M, ${steps} steps, guidance 7.5 (U-Net batch 2), VAE decode to 512×512\n`);
    console.log('| attention | total s | first step s (incl. trace, write, open) | s/step after | VAE decode s (incl. trace) | peak RSS GB |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      console.log(`| ${r.mode} | ${(r.totalMs / 1000).toFixed(0)} | ${(r.firstStepMs / 1000).toFixed(1)} | ${(r.stepMs / 1000).toFixed(1)} | ${(r.decodeMs / 1000).toFixed(1)} | ${r.peakGb.toFixed(2)} |`);
    }
  }
}

await main();
