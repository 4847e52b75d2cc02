// Scores a trained default-model folder on the held-out set — the full model and the stage-2-only ablation — with
// the full model's condition sensitivity, and writes the scores into its training.json and MODEL_CARD.md. Used after
// `npm run train:default -- --eval N` and by `--rescore N` (a folder trained earlier, scored again, e.g. after the
// evaluator changed).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomicSync } from '../models/io/atomic.ts';
import { buildEvalSet } from '../models/world/eval-set.ts';
import { evaluate } from '../models/world/score.ts';
import { buildSwaps, conditionSensitivity } from '../models/world/sensitivity.ts';
import { modelGenerator, DEFAULT_GUIDANCE } from './generate.ts';
import { defaultTokenizers } from './vocabulary.ts';
import { parameterCounts, shippedFiles, writeModelCard, type CardInput } from './card.ts';
import type { WeightsLayout } from './layout.ts';
import type { TrainingRecord } from './pipeline.ts';

export interface ScoreRunOptions {
  weights: WeightsLayout;
  /** The stage-2-only KOSMOS-G of the ablation (skipped when absent). */
  stage2?: string;
  perTask: number;
  backend: 'onnx' | 'tfjs';
  log?: (line: string) => void;
}

/** Rewrites the folder's MODEL_CARD.md (and, with `perTask` > 0, the scores in training.json). */
export async function scoreRun(o: ScoreRunOptions): Promise<void> {
  const log = o.log ?? (() => {});
  const record = JSON.parse(await readFile(o.weights.record, 'utf8')) as TrainingRecord;
  const tokenizers = defaultTokenizers();
  const card: CardInput = {
    record,
    parameters: parameterCounts(tokenizers.mllm.vocabSize, tokenizers.clip.vocabSize),
    files: await shippedFiles(o.weights.dir),
  };
  if (o.perTask > 0) {
    const items = buildEvalSet({ perTask: o.perTask });
    const settings = { weights: o.weights.dir, backend: o.backend, steps: 25, guidance: DEFAULT_GUIDANCE };
    card.scores = [];
    const models = [['full', undefined], ...(o.stage2 && existsSync(o.stage2) ? [['stage-2 only', o.stage2] as const] : [])] as const;
    for (const [name, kosmosG] of models) {
      const g = await modelGenerator({ ...settings, ...(kosmosG ? { kosmosG } : {}) });
      const report = await evaluate(g.generate, items);
      // The full model's condition sensitivity: subject and word swaps at the items' seeds.
      if (name === 'full') {
        const swaps = buildSwaps(items.filter((i) => i.task === 'single' || i.task === 'text').filter((_, k) => k % 3 === 0));
        card.sensitivity = await conditionSensitivity(g.generate, swaps);
        log(`condition sensitivity: ${(100 * card.sensitivity.changed).toFixed(0)} % of ${swaps.length} swaps change the picture`);
      }
      await g.close();
      card.scores.push({ name, report });
      log(`scored ${name}: ${report.tasks.map((t) => `${t.task} ${(100 * t.fidelity).toFixed(0)} %`).join(', ')}`);
    }
    card.scoreSettings = `${items.length} items, ${settings.backend}, ${settings.steps} DPM-Solver++ steps, guidance ${settings.guidance}`;
    // The scores go into training.json too, for scripts comparing runs.
    record.scores = {
      settings: card.scoreSettings,
      models: card.scores.map((s) => ({ name: s.name, tasks: s.report.tasks })),
      ...(card.sensitivity ? { sensitivity: { swaps: card.sensitivity.swaps.length, changed: card.sensitivity.changed, followed: card.sensitivity.followed } } : {}),
    };
    writeFileAtomicSync(o.weights.record, JSON.stringify(record, null, 2) + '\n');
  }
  await writeModelCard(o.weights.card, card);
}
