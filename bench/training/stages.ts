// Step time of every default-model training stage on tfjs-wasm and on ONNX Runtime (1 thread and all cores), side by
// side in one run: the real stage graphs (default-model/workflows.ts) at their shipped configs and batch sizes, on
// a small world written for the bench, a few steps each through the real executor. Each (stage, backend) runs in a
// process of its own, so its peak resident memory is its own.
//   npx tsx bench/training/stages.ts [steps=6] [stages=clip,vae,unet,stage1,stage2,stage3]
//   npx tsx bench/training/stages.ts --curve [steps=200] [stage=unet]: the loss curve of one stage on both backends
//     (same data, noise and initial weights), step by step: how far apart ONNX Runtime's and tfjs's losses drift.
// Steady s/step: the mean time between progress events after the first step (which, on ONNX Runtime, also traces,
// writes and opens the step graph: reported as "first step").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Executor, parseWorkflow, type EngineEvent } from '../../engine/index.ts';
import { trainDefault, quickSettings } from '../../default-model/pipeline.ts';
import { STAGES, STAGE_SETTINGS, stageWorkflow, type StageName } from '../../default-model/workflows.ts';
import { weightsLayout, workLayout } from '../../default-model/layout.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const self = fileURLToPath(import.meta.url);

interface Variant {
  label: string;
  backend: 'tfjs' | 'onnx';
  threads?: number;
}
const VARIANTS: Variant[] = [
  { label: 'tfjs-wasm', backend: 'tfjs' },
  { label: 'ORT 1 thread', backend: 'onnx', threads: 1 },
  { label: `ORT ${os.availableParallelism()} threads`, backend: 'onnx', threads: os.availableParallelism() },
];

interface Row {
  steady: number;
  first: number;
  rssMb: number;
  loss: number;
  losses: number[];
}

/** Child: one stage on one backend; prints a Row as JSON. */
async function child(dir: string, stage: StageName, backend: string, steps: number): Promise<void> {
  const doc = stageWorkflow(stage, { weights: weightsLayout(path.join(dir, 'out')), work: workLayout(path.join(dir, 'work')) }, { ...STAGE_SETTINGS[stage], steps, warmup: 0 });
  const train = doc.nodes.find((n) => n.id === 'train')!;
  train.widgets = { ...train.widgets, backend, checkpoint_every: 0 };
  // Nothing the bench trains is saved over the bench's parts.
  doc.nodes = doc.nodes.filter((n) => n.type !== 'SaveCheckpoint');
  const executor = new Executor(await Registry.load({ env: false }), { baseDir: root, log: () => {} });
  const times: number[] = [];
  let started = 0, loss = NaN;
  const losses: number[] = [];
  const r = await executor.run(parseWorkflow(doc, `bench ${stage}`), {
    outputDir: path.join(dir, 'outputs', `${stage}-${backend}`),
    onEvent: (e: EngineEvent) => {
      if (e.type === 'node_started' && e.nodeId === 'train') started = performance.now();
      if (e.type === 'node_progress' && e.nodeId === 'train' && e.metrics?.loss !== undefined) {
        times.push(performance.now());
        loss = e.metrics.loss;
        losses.push(loss);
      }
    },
  });
  if (r.status !== 'ok') throw new Error(`${stage} on ${backend}: ${JSON.stringify(r.errors).slice(0, 300)}`);
  const status = readFileSync('/proc/self/status', 'utf8');
  const rssMb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  const row: Row = { steady: (times.at(-1)! - times[0]!) / (times.length - 1), first: (times[0]! - started) / 1000, rssMb, loss, losses };
  console.log(JSON.stringify(row));
}

/** A small world and the initial parts and weights every stage loads (one step of each stage writes them all). */
async function prepare(dir: string): Promise<void> {
  await trainDefault({ out: path.join(dir, 'out'), work: path.join(dir, 'work'), scenes: 160, seed: 2023, settings: quickSettings(1, 2), lanes: 1, baseDir: root });
}

function runChild(dir: string, stage: StageName, backend: string, steps: number, threads?: number): Row {
  const env = { ...process.env, KOSMOS_G_CACHE: path.join(dir, 'cache'), ...(threads ? { KOSMOS_G_ORT_THREADS: String(threads) } : {}) };
  const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', dir, stage, backend, String(steps)], { encoding: 'utf8', env, cwd: root, maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as Row;
}

async function curve(steps: number, stage: StageName): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-bench-curve-'));
  try {
    await prepare(dir);
    const [tfjs, onnx] = [runChild(dir, stage, 'tfjs', steps), runChild(dir, stage, 'onnx', steps)];
    const rel = onnx.losses.map((l, i) => Math.abs(l - tfjs.losses[i]!) / Math.abs(tfjs.losses[i]!));
    console.log(`${stage}: ${steps} steps from the same initial weights, data and noise; |loss_onnx − loss_tfjs| / loss_tfjs`);
    console.log('steps      max rel. diff   mean loss tfjs   mean loss onnx');
    for (let a = 0; a < steps; a += Math.max(1, Math.floor(steps / 8))) {
      const b = Math.min(steps, a + Math.max(1, Math.floor(steps / 8)));
      const mean = (xs: number[]) => xs.slice(a, b).reduce((p, q) => p + q, 0) / (b - a);
      console.log(`${`${a + 1}–${b}`.padEnd(10)} ${Math.max(...rel.slice(a, b)).toExponential(2).padStart(13)}   ${mean(tfjs.losses).toFixed(5).padStart(14)}   ${mean(onnx.losses).toFixed(5).padStart(14)}`);
    }
    console.log(`step 1 (identical weights): relative difference ${rel[0]!.toExponential(2)}; later steps drift as the two float trajectories part`);
    console.log(`steady ms/step: tfjs ${tfjs.steady.toFixed(0)}, ORT ${onnx.steady.toFixed(0)} (${(tfjs.steady / onnx.steady).toFixed(2)}×)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(steps: number, stages: StageName[]): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-bench-stages-'));
  try {
    await prepare(dir);
    console.log(`default-model stages, shipped batch sizes, ${steps} steps each; ${os.cpus()[0]?.model ?? 'cpu'} × ${os.availableParallelism()}; steady ms/step (first step incl. tracing, s) [peak RSS MiB]`);
    const head = ['stage', 'batch', ...VARIANTS.map((v) => v.label), 'speed-up 1 thread', `speed-up ${os.availableParallelism()} threads`];
    const lines: string[][] = [];
    for (const stage of stages) {
      const rows = VARIANTS.map((v) => runChild(dir, stage, v.backend, steps, v.threads));
      const cell = (r: Row) => `${r.steady.toFixed(0)} (${r.first.toFixed(1)}) [${r.rssMb.toFixed(0)}]`;
      lines.push([stage, String(STAGE_SETTINGS[stage].batch), ...rows.map(cell), `${(rows[0]!.steady / rows[1]!.steady).toFixed(2)}×`, `${(rows[0]!.steady / rows[2]!.steady).toFixed(2)}×`]);
      console.log(JSON.stringify({ stage, rows: rows.map(({ losses: _, ...r }) => r) }));
    }
    const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
    const fmt = (l: string[]) => l.map((c, i) => c.padEnd(widths[i]!)).join('  ');
    console.log(fmt(head));
    for (const l of lines) console.log(fmt(l));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') await child(argv[1]!, argv[2] as StageName, argv[3]!, Number(argv[4]));
else if (argv[0] === '--curve') await curve(Number(argv[1] ?? 200), (argv[2] as StageName | undefined) ?? 'unet');
else await main(Number(argv[0] ?? 6), (argv[1]?.split(',') as StageName[] | undefined) ?? [...STAGES]);
