// Attention forms on ONNX Runtime's CPU provider at SD 1.5's shapes, side by side: for each level of the U-Net
// (4,096 / 1,024 / 256 tokens of 320 / 640 / 1280 channels in 8 heads; self-attention and cross-attention to 77
// keys) and batch 1 and 2, the time and peak memory of
//   unfused   today's trace: split heads, MatMul → Softmax → MatMul, merge heads (TraceOps.attention)
//   mha       the com.microsoft MultiHeadAttention contrib op on [B, T, H·D] (no head transposes)
//   attn23    the ONNX-standard Attention op (opset 23) on [B, T, H·D] with q_num_heads/kv_num_heads
//   chunked   the unfused form with the queries in chunks of 1,024, concatenated (a smaller score buffer)
// Each (shape, form) runs in a child process of its own, so its peak resident memory (VmHWM) is its own: the
// "peak MB" column is VmHWM minus the resident memory before the session was created (inputs already there).
// Every form's output is checked against the unfused one's: max |a − b| / max |b|.
//
// Run: KOSMOS_G_ORT_THREADS=1 nice -n 10 npx tsx bench/diffusion/attention.ts [--runs N] [--quick]
// (--quick: batch 2 only, and no 256-token level). ORT settings come from the environment as in any run.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { TraceOps } from '../../models/backends/onnx/trace.ts';
import { encodeModel } from '../../models/backends/onnx/serialize.ts';
import { ModelProto } from '../../models/backends/onnx/onnx-schema.ts';
import { openSession } from '../../models/backends/onnx/session.ts';
import type { Sym } from '../../models/backends/onnx/graph.ts';
import { randn } from '../../models/ops/random.ts';
import { mergeHeads, splitHeads } from '../../models/ops/heads.ts';
import { relativeError } from '../../test/backends/relative-error.ts';

const FORMS = ['unfused', 'mha', 'attn23', 'chunked'] as const;
type Form = (typeof FORMS)[number];
const HEADS = 8;
const CHUNK = 1024;

interface Case {
  label: string;
  batch: number;
  tokens: number;
  keys: number;
  channels: number;
}

function cases(quick: boolean): Case[] {
  const levels = quick ? [[4096, 320], [1024, 640]] : [[4096, 320], [1024, 640], [256, 1280]];
  const out: Case[] = [];
  for (const batch of quick ? [2] : [1, 2]) {
    for (const [tokens, channels] of levels as [number, number][]) {
      out.push({ label: `self ${tokens}×${channels}`, batch, tokens, keys: tokens, channels });
      out.push({ label: `cross ${tokens}→77, ${channels}`, batch, tokens, keys: 77, channels });
    }
  }
  return out;
}

/** The ONNX model of one form: inputs q [B, Tq, C], k and v [B, Tk, C]; output [B, Tq, C]. */
function model(form: Form, c: Case): Uint8Array {
  const ops = new TraceOps();
  const q = ops.input([c.batch, c.tokens, c.channels], 'float32');
  const k = ops.input([c.batch, c.keys, c.channels], 'float32');
  const v = ops.input([c.batch, c.keys, c.channels], 'float32');
  const scale = 1 / Math.sqrt(c.channels / HEADS);
  const headed = (qq: Sym) => mergeHeads(ops, ops.attention(splitHeads(ops, qq, HEADS), splitHeads(ops, k, HEADS), splitHeads(ops, v, HEADS)));
  let out: Sym;
  if (form === 'unfused') out = headed(q);
  else if (form === 'chunked') {
    const n = Math.ceil(c.tokens / CHUNK);
    const sizes = Array.from({ length: n }, (_, i) => Math.min(CHUNK, c.tokens - i * CHUNK));
    out = ops.concat(ops.split(q, sizes, 1).map(headed), 1);
  } else {
    const attrs = form === 'mha'
      ? [{ name: 'num_heads', kind: 'int' as const, value: HEADS }, { name: 'scale', kind: 'float' as const, value: scale }]
      : [{ name: 'q_num_heads', kind: 'int' as const, value: HEADS }, { name: 'kv_num_heads', kind: 'int' as const, value: HEADS }, { name: 'scale', kind: 'float' as const, value: scale }];
    out = ops.graph.op(form === 'mha' ? 'MultiHeadAttention' : 'Attention', [q, k, v], [c.batch, c.tokens, c.channels], 'float32', attrs, form === 'mha' ? 'com.microsoft' : undefined);
  }
  ops.output([out]);
  const bytes = encodeModel(ops.graph);
  if (form !== 'attn23') return bytes;
  // The standard Attention op exists from opset 23; this graph's other ops mean the same there.
  const m = ModelProto.decode(bytes) as unknown as { opsetImport: { domain: string; version: number }[]; irVersion: number };
  m.opsetImport = [{ domain: '', version: 23 }];
  m.irVersion = 10;
  return ModelProto.encode(ModelProto.fromObject(m)).finish();
}

function vm(field: string): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
}

interface ChildResult {
  ms: number;
  peakMb: number;
  error?: string;
}

async function child(form: Form, c: Case, runs: number, dir: string): Promise<ChildResult> {
  const file = path.join(dir, `${form}.onnx`);
  writeFileSync(file, model(form, c));
  const feeds = {
    input_0: new ort.Tensor('float32', randn(c.batch * c.tokens * c.channels, 1), [c.batch, c.tokens, c.channels]),
    input_1: new ort.Tensor('float32', randn(c.batch * c.keys * c.channels, 2), [c.batch, c.keys, c.channels]),
    input_2: new ort.Tensor('float32', randn(c.batch * c.keys * c.channels, 3), [c.batch, c.keys, c.channels]),
  };
  const before = vm('VmRSS');
  let session: ort.InferenceSession;
  try {
    session = await openSession(file, 'cpu');
    await session.run(feeds); // warm-up (the arena's first allocations)
  } catch (e) {
    return { ms: NaN, peakMb: NaN, error: (e as Error).message.split('\n')[0]!.slice(0, 120) };
  }
  const times: number[] = [];
  let out: Float32Array | undefined;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    const r = await session.run(feeds);
    times.push(performance.now() - t);
    out = r.output_0!.data as Float32Array;
  }
  writeFileSync(path.join(dir, `${form}.out`), new Uint8Array(out!.buffer, out!.byteOffset, out!.byteLength));
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, peakMb: (vm('VmHWM') - before) / 2 ** 20 };
}

function readOut(dir: string, form: Form): Float32Array {
  const b = readFileSync(path.join(dir, `${form}.out`));
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
if (args[0] === '--child') {
  const [, form, caseJson, dir] = args as [string, Form, string, string];
  const result = await child(form, JSON.parse(caseJson) as Case, runs, dir);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

const threads = process.env.KOSMOS_G_ORT_THREADS ?? String(os.availableParallelism());
console.log(`# attention forms on ORT ${ort.env.versions.common} CPU (${new Date().toISOString()}, ${threads} thread(s), load ${os.loadavg()[0]!.toFixed(1)})\n`);
console.log('| batch | attention | form | GFLOP | median ms | GFLOP/s | × unfused time | peak MB over inputs | rel. error vs unfused |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
const self = fileURLToPath(import.meta.url);
for (const c of cases(args.includes('--quick'))) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kosmos-attn-bench-'));
  const flops = 2 * 2 * c.batch * c.tokens * c.keys * c.channels; // q·kᵀ and p·v over all heads
  let base: ChildResult | undefined;
  for (const form of FORMS) {
    if (form === 'chunked' && c.tokens <= CHUNK) continue;
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', form, JSON.stringify(c), dir, '--runs', String(runs)], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    const res: ChildResult = line ? JSON.parse(line.slice(7)) : { ms: NaN, peakMb: NaN, error: `child failed: ${r.stderr.trim().split('\n').pop()}` };
    if (form === 'unfused') base = res;
    const err = res.error ? '—' : form === 'unfused' ? '(reference)' : relativeError(readOut(dir, form), readOut(dir, 'unfused')).toExponential(1);
    const cells = res.error
      ? [`failed: ${res.error}`, '—', '—', '—']
      : [res.ms.toFixed(1), (flops / 1e6 / res.ms).toFixed(1), base && !base.error ? (res.ms / base.ms).toFixed(2) : '—', res.peakMb.toFixed(0)];
    console.log(`| ${c.batch} | ${c.label} | ${form} | ${(flops / 1e9).toFixed(2)} | ${cells.join(' | ')} | ${err} |`);
  }
  rmSync(dir, { recursive: true, force: true });
}
