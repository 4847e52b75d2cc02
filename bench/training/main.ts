// Training throughput of the shipped small train-*.json workflows on their TrainLoop's backend (ONNX Runtime unless
// the workflow says otherwise; bench/training/stages.ts compares the backends on the default model's stages): runs
// each for a few steps through the real executor and prints steps/s (the loop's own metric, which includes the
// first step's compile), the peak resident memory, and the peak bytes held in tfjs tensors (0 on ONNX Runtime),
// sampled at every step. Each stage runs in its own process so the memory figures are its own.
//   npx tsx bench/training/main.ts [steps=6] [workflow-name]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Executor, parseWorkflow } from '../../engine/index.ts';
import { tf } from '../../models/backends/tfjs/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
process.chdir(root);
const steps = Number(process.argv[2] ?? 6);
const filter = process.argv[3] ?? '';
const WORKFLOWS = ['train-stage1.json', 'train-stage2-aligner.json', 'train-stage3-instruct.json', 'train-clip.json', 'train-vae.json', 'train-unet-t2i.json'];

/** One stage in this process: prints its table row as JSON. */
async function stage(name: string): Promise<void> {
  const executor = new Executor(await Registry.load({ env: false }), { baseDir: root, log: () => {} });
  const dir = mkdtempSync(path.join(tmpdir(), 'kg-bench-'));
  let rss = 0, tensorBytes = 0, stepsPerSecond = 0;
  const t0 = performance.now();
  const r = await executor.run(parseWorkflow(readFileSync(path.join(root, 'workflows', name), 'utf8')), {
    outputDir: path.join(dir, 'out'),
    overrides: { 'train.steps': steps, 'train.checkpoint': path.join(dir, 'ckpt'), 'train.checkpoint_every': 0, 'save.path': path.join(dir, 'w.safetensors') },
    onEvent: (e) => {
      if (e.type !== 'node_progress' || !e.metrics) return;
      rss = Math.max(rss, process.memoryUsage().rss);
      tensorBytes = Math.max(tensorBytes, tf.memory().numBytes);
      stepsPerSecond = e.metrics.steps_per_s ?? stepsPerSecond;
    },
  });
  const wall = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  const row = r.status !== 'ok'
    ? [name, 'failed', JSON.stringify(r.errors).slice(0, 80), '', '', '']
    : [name, stepsPerSecond.toFixed(2), (1 / stepsPerSecond).toFixed(2), (rss / 2 ** 20).toFixed(0), (tensorBytes / 2 ** 20).toFixed(1), wall.toFixed(1)];
  console.log(JSON.stringify(row));
}

async function main(): Promise<void> {
  const rows: string[][] = [];
  for (const name of WORKFLOWS) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), String(steps), name], { encoding: 'utf8' });
    rows.push(JSON.parse(out.trim().split('\n').pop()!) as string[]);
  }
  const head = ['workflow', 'steps/s', 's/step', 'peak RSS MiB', 'peak tensors MiB', `wall s (${steps} steps + load)`];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(`each workflow's TrainLoop backend (default onnx), ${steps} steps per stage`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

if (filter) await stage(filter);
else await main();
