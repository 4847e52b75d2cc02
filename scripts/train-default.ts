// Trains the embedded default model from scratch: `npm run train:default` (add `-- --quick` for a CI-sized run).
//   npx tsx scripts/train-default.ts [--quick] [--out DIR] [--work DIR] [--scenes N] [--seed N] [--stages clip,vae,…]
//                                    [--steps N] (every stage) [--eval N] (score N held-out items per task after)
//                                    [--lr X] (every stage) [--set STAGE.KEY=V] (one stage: steps, batch, lr, warmup; repeatable)
//                                    [--backend onnx|tfjs] (for --eval)   --write-workflows: (re)write workflows/default/
// Output: DIR (default models/default/weights/) with the weights, tokenizers, training.json and MODEL_CARD.md;
// the world data, per-stage parts and checkpoints go to --work (default data/train-default/, not committed).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quickSettings, trainDefault, PipelineError } from '../models/default/pipeline.ts';
import { DEFAULT_WORK_DIR, SHIPPED_WEIGHTS_DIR, STAGES, shippedStageWorkflow, type StageName, type StageSettings } from '../models/default/workflows.ts';
import { mkdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../models/io/atomic.ts';
import { parameterCounts, shippedFiles, writeModelCard, type CardInput } from '../models/default/card.ts';
import { buildEvalSet } from '../models/default/eval-set.ts';
import { evaluate } from '../models/default/score.ts';
import { modelGenerator } from '../models/default/generate.ts';
import { defaultTokenizers } from '../models/default/vocabulary.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  quick: boolean;
  out: string;
  work?: string;
  scenes?: number;
  seed: number;
  stages?: StageName[];
  steps?: number;
  lr?: number;
  /** Per-stage overrides from --set, applied over --steps / --lr. */
  set: Partial<Record<StageName, Partial<StageSettings>>>;
  eval: number;
  writeWorkflows: boolean;
  backend: 'onnx' | 'tfjs';
}

function fail(message: string): never {
  throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: ${message}`);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, out: SHIPPED_WEIGHTS_DIR, work: DEFAULT_WORK_DIR, seed: 2023, eval: 0, backend: 'onnx', writeWorkflows: false, set: {} };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i] ?? fail(`${flag} needs a value`);
    const int = () => {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 0) fail(`${flag} needs a non-negative integer`);
      return v;
    };
    switch (flag) {
      case '--quick': args.quick = true; break;
      case '--write-workflows': args.writeWorkflows = true; break;
      case '--out': args.out = value(); break;
      case '--work': args.work = value(); break;
      case '--scenes': args.scenes = int(); break;
      case '--seed': args.seed = int(); break;
      case '--steps': args.steps = int(); break;
      case '--eval': args.eval = int(); break;
      case '--lr': {
        const v = Number(value());
        if (!(v > 0 && v < 1)) fail('--lr needs a learning rate in (0, 1)');
        args.lr = v;
        break;
      }
      case '--backend': {
        const b = value();
        if (b !== 'onnx' && b !== 'tfjs') fail('--backend is onnx or tfjs');
        args.backend = b;
        break;
      }
      case '--set': {
        const m = /^(\w+)\.(steps|batch|lr|warmup)=(.+)$/.exec(value());
        if (!m || !STAGES.includes(m[1] as StageName)) fail(`--set needs STAGE.KEY=VALUE with STAGE one of ${STAGES.join(', ')} and KEY one of steps, batch, lr, warmup`);
        const v = Number(m[3]);
        const key = m[2] as keyof StageSettings;
        if (!(v >= 0) || (key !== 'lr' && !Number.isInteger(v)) || (key === 'lr' && !(v > 0 && v < 1))) fail(`--set ${m[1]}.${key}: bad value '${m[3]}'`);
        const stage = m[1] as StageName;
        args.set[stage] = { ...args.set[stage], [key]: v };
        break;
      }
      case '--stages': {
        const names = value().split(',').map((s) => s.trim());
        for (const n of names) if (!STAGES.includes(n as StageName)) fail(`unknown stage '${n}' (one of ${STAGES.join(', ')})`);
        args.stages = names as StageName[];
        break;
      }
      default: fail(`unknown argument '${flag}'`);
    }
  }
  return args;
}

function bar(done: number, total: number, width = 24): string {
  const n = Math.round((done / Math.max(1, total)) * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

/** workflows/default/<stage>.json: the stage graphs with the shipped paths, to open in the editor or run by hand. */
function writeWorkflows(): void {
  const dir = path.join(root, 'workflows', 'default');
  mkdirSync(dir, { recursive: true });
  STAGES.forEach((stage, i) => {
    const file = path.join(dir, `${i + 1}-${stage}.json`);
    writeFileAtomicSync(file, JSON.stringify(shippedStageWorkflow(stage, root), null, 2) + '\n');
    console.log(`wrote ${path.relative(root, file)}`);
  });
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.writeWorkflows) return writeWorkflows();
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const common = { ...(args.steps ? { steps: args.steps } : {}), ...(args.lr ? { lr: args.lr } : {}) };
  const base = args.quick ? quickSettings(args.steps ?? 2) : Object.fromEntries(STAGES.map((s) => [s, common]));
  const settings = Object.fromEntries(STAGES.map((s) => [s, { ...base[s], ...args.set[s] }]));
  const { record, weights, work } = await trainDefault({
    out: args.out,
    work: args.work,
    scenes: args.scenes ?? (args.quick ? 24 : 4000),
    seed: args.seed,
    stages: args.stages,
    settings,
    baseDir: root,
    onLine: (l) => {
      if (tty) process.stderr.write('\r\x1b[K');
      console.log(l);
    },
    onProgress: (stage, step, steps, m) => {
      const now = performance.now();
      if (step < steps && now - lastPrint < (tty ? 200 : 30_000)) return;
      lastPrint = now;
      const text = `  ${stage} ${bar(step, steps)} ${step}/${steps} loss ${m.loss?.toFixed(4) ?? '?'} lr ${m.lr?.toExponential(2) ?? '?'} ${m.steps_per_s?.toFixed(2) ?? '?'} steps/s`;
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else console.log(text);
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  const tokenizers = defaultTokenizers();
  const card: CardInput = {
    record,
    parameters: parameterCounts(tokenizers.mllm.vocabSize, tokenizers.clip.vocabSize),
    files: await shippedFiles(weights.dir),
  };
  if (args.eval > 0) {
    const items = buildEvalSet({ perTask: args.eval });
    const settings = { weights: weights.dir, backend: args.backend, steps: 25, guidance: 5 };
    card.scores = [];
    for (const [name, kosmosG] of [['full', undefined], ['stage-2 only', work.kosmosGStage2]] as const) {
      const g = await modelGenerator({ ...settings, ...(kosmosG ? { kosmosG } : {}) });
      const report = await evaluate(g.generate, items);
      await g.close();
      card.scores.push({ name, report });
      console.log(`scored ${name}: ${report.tasks.map((t) => `${t.task} ${(100 * t.fidelity).toFixed(0)} %`).join(', ')}`);
    }
    card.scoreSettings = `${items.length} items, ${settings.backend}, ${settings.steps} DPM-Solver++ steps, guidance ${settings.guidance}`;
  }
  await writeModelCard(weights.card, card);
  console.log(`trained in ${(record.seconds / 60).toFixed(1)} min → ${path.relative(root, weights.dir) || weights.dir}`);
}

main().catch((e: unknown) => {
  const err = e as { code?: string; message?: string };
  console.error(err.code ? `${err.code}: ${err.message}` : e);
  process.exitCode = 1;
});
