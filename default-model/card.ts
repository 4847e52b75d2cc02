// MODEL_CARD.md for the default model, written beside the weights from what the run recorded: the data (and the
// held-out split), the configs with parameter counts, the steps and time of each stage, the file sizes, and the
// harness scores of the full model next to the stage-2-only ablation.

import { readdir, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UNet2DConditionModel } from '../models/unet/unet.ts';
import { AutoencoderKL } from '../models/vae/autoencoder.ts';
import { CLIPTextModel } from '../models/clip/text-model.ts';
import { KosmosG } from '../models/kosmosg/kosmosg.ts';
import { Rng } from '../models/ops/random.ts';
import { DEFAULT_IMAGE_SIZE, DEFAULT_UNET, DEFAULT_VAE, SHIPPED_BYTES_LIMIT, defaultClipText, defaultKosmosG } from './config.ts';
import { formatTable, type EvalReport } from '../models/world/score.ts';
import { formatSensitivity, type SensitivityReport } from '../models/world/sensitivity.ts';
import type { TrainingRecord } from './pipeline.ts';

export interface ParameterCount {
  part: string;
  parameters: number;
}

/** Parameters of every shipped part at the default configs (the vocabularies from the tokenizers). */
export function parameterCounts(mllmVocab: number, clipVocab: number): ParameterCount[] {
  const kosmos = new KosmosG(defaultKosmosG(mllmVocab, false), 0);
  const names: Record<string, string> = { 'img_model.': 'CLIP vision (ViT)', 'img_connector.': 'connector (resampler)', 'gpt_model.decoder.': 'MLLM (MAGNETO)', 'aligner.': 'AlignerNet (M)' };
  return [
    { part: 'U-Net', parameters: new UNet2DConditionModel(DEFAULT_UNET, 0).parameterCount() },
    { part: 'VAE', parameters: new AutoencoderKL(DEFAULT_VAE, 0).parameterCount() },
    { part: 'CLIP text encoder', parameters: new CLIPTextModel(defaultClipText(clipVocab), new Rng(0)).parameterCount() },
    ...kosmos.parts().map(([prefix, m]) => ({ part: names[prefix] ?? prefix, parameters: m.parameterCount() })),
  ];
}

/** Every file under the weights folder with its size (the card itself excluded). */
export async function shippedFiles(dir: string): Promise<{ file: string; bytes: number }[]> {
  const out: { file: string; bytes: number }[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.name !== 'MODEL_CARD.md') out.push({ file: path.relative(dir, p), bytes: (await stat(p)).size });
    }
  };
  await walk(dir);
  return out.sort((a, b) => a.file.localeCompare(b.file));
}

export interface CardInput {
  record: TrainingRecord;
  parameters: ParameterCount[];
  files: { file: string; bytes: number }[];
  /** Harness reports: the full model first, then the ablation (stage 2 only), when they were measured. */
  scores?: { name: string; report: EvalReport }[];
  /** How the scores were generated (backend, steps, guidance). */
  scoreSettings?: string;
  /** The full model's condition sensitivity (subject and word swaps at fixed seeds), when measured. */
  sensitivity?: SensitivityReport;
}

const mb = (bytes: number) => (bytes < 2 ** 20 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 2 ** 20).toFixed(2)} MB`);

export function modelCard(input: CardInput): string {
  const { record, parameters, files, scores } = input;
  const totalParams = parameters.reduce((n, p) => n + p.parameters, 0);
  const totalBytes = files.reduce((n, f) => n + f.bytes, 0);
  const lines = [
    '# KOSMOS-G default model (embedded)',
    '',
    'A small KOSMOS-G the project trains itself on its synthetic world of coloured shapes, so that a fresh install',
    'generates real pictures without downloading anything. Reproduce it with `npm run train:default`.',
    '',
    '## Data',
    '',
    `${record.scenes} scenes of the synthetic world (models/world, seed ${record.seed}, ${record.imageSize}×${record.imageSize}): one or two of`,
    '4 shapes × 6 colours on 6 pale backgrounds, with captions, entity crops and masked crops, and edit pairs.',
    'One colour × shape × background triple in six is held out (models/world/heldout.ts): every row holding one',
    'is removed before training, and every evaluation prompt asks for one.',
    '',
    '| file | rows kept | rows held out |',
    '| --- | --- | --- |',
    ...record.data.map((d) => `| ${path.basename(d.file)} | ${d.kept} | ${d.dropped} |`),
    '',
    '## Model',
    '',
    `Images ${DEFAULT_IMAGE_SIZE}×${DEFAULT_IMAGE_SIZE}; configs in default-model/config.ts.`,
    '',
    '| part | parameters |',
    '| --- | --- |',
    ...parameters.map((p) => `| ${p.part} | ${p.parameters.toLocaleString('en-US')} |`),
    `| total | ${totalParams.toLocaleString('en-US')} |`,
    '',
    '## Training',
    '',
    `All stages as workflows (workflows/default/), on this machine: ${(record.seconds / 60).toFixed(1)} min in all (started ${record.started}), ${(record.lanes ?? 1) > 1 ? `${record.lanes} independent stages at a time, each on one core` : 'one stage after another'}.`,
    '',
    '| stage | steps | batch | lr | s/step | minutes | loss first → last |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...record.stages.map((s) => {
      const loss = s.firstLoss !== undefined ? `${s.firstLoss.toFixed(3)} → ${s.lastLoss!.toFixed(3)}` : '–';
      const extras = [
        ...(s.settings.offsetNoise ? [`offset noise ${s.settings.offsetNoise}`] : []),
        ...(s.settings.align ? [`${Math.round(s.settings.align * 100)} % of steps on the alignment loss`] : []),
        ...(s.settings.alignImages ? [`${Math.round(s.settings.alignImages * 100)} % of steps aligning subject-driven prompts`] : []),
        ...(s.settings.alignEdits ? [`${Math.round(s.settings.alignEdits * 100)} % aligning edit prompts`] : []),
        ...(s.settings.ema ? [`weights averaged, decay ${s.settings.ema}`] : []),
        ...(s.settings.trainText ? ['the CLIP text encoder trained with it'] : []),
      ];
      const title = extras.length ? `${s.title} (${extras.join(', ')})` : s.title;
      return `| ${title} | ${s.settings.steps} | ${s.settings.batch} | ${s.settings.lr} | ${s.secondsPerStep.toFixed(2)} | ${(s.seconds / 60).toFixed(1)} | ${loss} |`;
    }),
    '',
    '## Files',
    '',
    '| file | size |',
    '| --- | --- |',
    ...files.map((f) => `| ${f.file} | ${mb(f.bytes)} |`),
    `| total | ${mb(totalBytes)} (limit ${mb(SHIPPED_BYTES_LIMIT)}${totalBytes > SHIPPED_BYTES_LIMIT ? ': OVER' : ''}) |`,
    '',
    '## Scores (held-out prompts, pixel-analysis evaluator)',
    '',
  ];
  if (scores && scores.length) {
    lines.push(
      `Scored by models/world/score.ts${input.scoreSettings ? ` (${input.scoreSettings})` : ''}; "stage-2 only" is the same model without`,
      'instruction tuning (semantic alignment only), the paper\'s ablation.',
      '',
      formatTable(scores),
    );
    if (input.sensitivity) {
      lines.push(
        '',
        'Condition sensitivity of the full model (models/world/sensitivity.ts): at an item\'s seed, the subject\'s colour or shape,',
        'or one caption word, is swapped; a swap counts when the evaluator reads the swapped attribute differently.',
        '',
        formatSensitivity(input.sensitivity),
      );
    }
  } else {
    lines.push('Not measured in this run (run `npx tsx bench/default-model/main.ts`).');
  }
  return lines.join('\n') + '\n';
}

export async function writeModelCard(file: string, input: CardInput): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, modelCard(input));
  await rename(tmp, file);
}
