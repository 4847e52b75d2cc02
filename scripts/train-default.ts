// Trains the embedded default model from scratch: `npm run train:default` (add `-- --quick` for a CI-sized run).
//   npx tsx scripts/train-default.ts [--quick] [--out DIR] [--work DIR] [--scenes N] [--seed N] [--stages clip,vae,…]
//                                    [--steps N] (every stage) [--eval N] (score N held-out items per task after)
//                                    [--lr X] (every stage) [--set STAGE.KEY=V] (one stage: steps, batch, lr, warmup, offset_noise, align, align_images, align_edits, ema, every, train_text; repeatable)
//                                    [--lanes N] (stages at once; default 2 on 2+ cores, 1 = in order in this process)
//                                    [--backend onnx|tfjs] (for --eval)   --write-workflows: (re)write workflows/default/
//                                    [--resume] (with --stages: continue them from their last checkpoints, e.g. with more steps)
//                                    [--rescore N] (no training: score the --out folder on N items per task, rewrite its card)
// Output: DIR (default default-model/weights/) with the weights, tokenizers, training.json and MODEL_CARD.md;
// the world data, per-stage parts and checkpoints go to --work (default data/train-default/, not committed).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { trainDefault } from '../default-model/pipeline.ts';
import { parseArgs, stageSettings } from '../default-model/args.ts';
import { DEFAULT_WORK_DIR, STAGES, shippedStageWorkflow } from '../default-model/workflows.ts';
import { mkdirSync } from 'node:fs';
import { writeFileAtomicSync } from '../models/io/atomic.ts';
import { scoreRun } from '../default-model/score-run.ts';
import { weightsLayout, workLayout } from '../default-model/layout.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
  if (args.rescore > 0) {
    // A folder trained earlier, scored again (e.g. after the evaluator changed): scores and card rewritten in place.
    const weights = weightsLayout(path.resolve(args.out));
    await scoreRun({ weights, stage2: workLayout(path.resolve(args.work ?? DEFAULT_WORK_DIR)).kosmosGStage2, perTask: args.rescore, backend: args.backend, log: (l: string) => console.log(l) });
    return;
  }
  const tty = process.stderr.isTTY;
  const lastPrint = new Map<string, number>();
  const running = new Map<string, string>();
  const settings = stageSettings(args);
  const { record, weights, work } = await trainDefault({
    out: args.out,
    work: args.work,
    scenes: args.scenes ?? (args.quick ? 24 : 4000),
    seed: args.seed,
    stages: args.stages,
    settings,
    resume: args.resume,
    ...(args.lanes ? { lanes: args.lanes } : {}),
    baseDir: root,
    onLine: (l) => {
      if (tty) process.stderr.write('\r\x1b[K');
      console.log(l);
    },
    onProgress: (stage, step, steps, m) => {
      // Stages running side by side share the line (tty) or print a line each (log files).
      const text = `${stage} ${bar(step, steps, tty ? 16 : 24)} ${step}/${steps} loss ${m.loss?.toFixed(4) ?? '?'}${tty ? '' : ` lr ${m.lr?.toExponential(2) ?? '?'}`} ${m.steps_per_s?.toFixed(2) ?? '?'} steps/s`;
      if (step < steps) running.set(stage, text);
      else running.delete(stage);
      const now = performance.now();
      const last = lastPrint.get(stage) ?? 0;
      if (step < steps && now - (tty ? Math.max(...lastPrint.values(), 0) : last) < (tty ? 200 : 30_000)) return;
      lastPrint.set(stage, now);
      if (tty) process.stderr.write(`\r\x1b[K  ${[...running.values()].join(' | ')}`);
      else console.log(`  ${text}`);
    },
  });
  if (tty) process.stderr.write('\r\x1b[K');
  await scoreRun({ weights, stage2: work.kosmosGStage2, perTask: args.eval, backend: args.backend, log: (l: string) => console.log(l) });
  console.log(`trained in ${(record.seconds / 60).toFixed(1)} min → ${path.relative(root, weights.dir) || weights.dir}`);
}

main().catch((e: unknown) => {
  const err = e as { code?: string; message?: string };
  console.error(err.code ? `${err.code}: ${err.message}` : e);
  process.exitCode = 1;
});
