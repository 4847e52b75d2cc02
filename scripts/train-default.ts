// Trains the embedded default model from scratch: `npm run train:default` (add `-- --quick` for a CI-sized run).
//   npx tsx scripts/train-default.ts [--quick] [--out DIR] [--work DIR] [--scenes N] [--seed N] [--stages clip,vae,…]
//                                    [--steps N] (every stage) [--eval N] (score N held-out items per task after)
// Output: DIR (default models/default/weights/) with the weights, tokenizers, training.json and MODEL_CARD.md.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quickSettings, trainDefault, PipelineError } from '../models/default/pipeline.ts';
import { STAGES, type StageName } from '../models/default/workflows.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Args {
  quick: boolean;
  out: string;
  work?: string;
  scenes?: number;
  seed: number;
  stages?: StageName[];
  steps?: number;
}

function fail(message: string): never {
  throw new PipelineError('DEFAULT_BAD_OPTION', `train-default: ${message}`);
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, out: 'models/default/weights', seed: 2023 };
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
      case '--out': args.out = value(); break;
      case '--work': args.work = value(); break;
      case '--scenes': args.scenes = int(); break;
      case '--seed': args.seed = int(); break;
      case '--steps': args.steps = int(); break;
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

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const settings = args.quick ? quickSettings(args.steps ?? 2) : args.steps ? Object.fromEntries(STAGES.map((s) => [s, { steps: args.steps }])) : undefined;
  const { record, weights } = await trainDefault({
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
  console.log(`trained in ${(record.seconds / 60).toFixed(1)} min → ${path.relative(root, weights.dir) || weights.dir}`);
}

main().catch((e: unknown) => {
  const err = e as { code?: string; message?: string };
  console.error(err.code ? `${err.code}: ${err.message}` : e);
  process.exitCode = 1;
});
