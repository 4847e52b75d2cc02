// Scores a generator on the default model's held-out prompt set and prints the table (docs/default-model.md).
//   npx tsx bench/default-model/main.ts [--generator model|clip-text|oracle|blank|copy|seed-only] [--weights DIR] [--per-task N]
//        [--ablation FILE]  also score the stage-2-only KOSMOS-G (default: data/train-default/parts/kosmos-g-stage2.safetensors)
//        (clip-text: the text-to-image items through the small CLIP text encoder, the U-Net's own conditioning)
//        [--backend onnx|tfjs] [--steps N] [--guidance G] [--seed N]
//        [--meanings]  with --generator clip-text: also single/multi items, through the CLIP text of their target scene,
//                      and edits: the edited scene's caption, starting from the picture being edited (the edit ceiling)
//        [--tasks single,multi,text,edit]  score only these tasks
//        [--edit-strength S]  the Sampler denoise of edits (default DEFAULT_EDIT_STRENGTH)
//        [--sensitivity N]  also swap the subject / a word of N single-entity and N text-to-image items at their seed
//                           and report the share of swaps that change the picture (models/world/sensitivity.ts)
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { caption } from '../../models/world/scene.ts';
import { evaluate, formatTable, type EvalReport, type Generator } from '../../models/world/score.ts';
import { blankGenerator, copyGenerator, oracleGenerator, seedOnlyGenerator } from '../../models/world/generators.ts';
import { buildSwaps, conditionSensitivity, formatSensitivity } from '../../models/world/sensitivity.ts';
import { modelGenerator, type GenerateSettings } from '../../default-model/generate.ts';
import { workLayout } from '../../default-model/layout.ts';
import { DEFAULT_WORK_DIR } from '../../default-model/workflows.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const kind = opt('generator', 'model');
const perTask = Number(opt('per-task', '24'));
// The clip-text generator draws text items as they are; with --meanings also single- and multi-entity items, through
// the CLIP text of the scene they ask for (what a perfectly aligned condition would give: the U-Net's ceiling); edits
// keep their picture, which the CLIP text encoder does not read but the edit starts from.
const meanings = argv.includes('--meanings');
const tasks = opt('tasks', 'single,multi,text,edit').split(',');
const items = buildEvalSet({ perTask, seed: Number(opt('seed', '20231002')) })
  .filter((i) => tasks.includes(i.task) && (kind !== 'clip-text' || i.task === 'text' || meanings))
  .map((i) => (kind === 'clip-text' && i.images.length ? { ...i, prompt: caption(i.target), images: i.task === 'edit' ? i.images : [] } : i));
const weights = path.resolve(root, opt('weights', 'default-model/weights'));
const settings: GenerateSettings = {
  weights,
  backend: opt('backend', 'onnx') as 'onnx' | 'tfjs',
  steps: Number(opt('steps', '25')),
  guidance: Number(opt('guidance', '5')),
  ...(argv.includes('--edit-strength') ? { editStrength: Number(opt('edit-strength', '')) } : {}),
};

async function score(name: string, generate: Generator): Promise<{ name: string; report: EvalReport }> {
  const report = await evaluate(generate, items, (done, total, s) => {
    if (done % 8 === 0 || done === total) process.stderr.write(`  ${name}: ${done}/${total} (${s.id}: ${s.pass ? 'pass' : 'fail'}, read ${s.read})\n`);
  });
  return { name, report };
}

const reports: { name: string; report: EvalReport }[] = [];
const sensitivityItems = Number(opt('sensitivity', '0'));
const swaps = buildSwaps(['single', 'text'].flatMap((task) => items.filter((i) => i.task === task).slice(0, sensitivityItems)));
const sensitivityReports: string[] = [];
if (kind === 'model') {
  const full = await modelGenerator(settings);
  reports.push(await score('full', full.generate));
  if (swaps.length) sensitivityReports.push(`full model, ${swaps.length} swaps:\n${formatSensitivity(await conditionSensitivity(full.generate, swaps))}`);
  await full.close();
  const ablation = path.resolve(root, opt('ablation', workLayout(DEFAULT_WORK_DIR).kosmosGStage2));
  if (existsSync(ablation)) {
    const stage2 = await modelGenerator({ ...settings, kosmosG: ablation });
    reports.push(await score('stage-2 only', stage2.generate));
    await stage2.close();
  } else {
    console.error(`(no ablation: ${ablation} does not exist)`);
  }
} else if (kind === 'clip-text') {
  const clip = await modelGenerator({ ...settings, encoder: 'clip-text' });
  reports.push(await score('CLIP text', clip.generate));
  await clip.close();
} else {
  const generators: Record<string, Generator> = { oracle: oracleGenerator, blank: blankGenerator, copy: copyGenerator, 'seed-only': seedOnlyGenerator };
  const g = generators[kind];
  if (!g) {
    console.error(`DEFAULT_BAD_OPTION: --generator must be model, clip-text, oracle, blank, copy or seed-only (got '${kind}')`);
    process.exit(1);
  }
  reports.push(await score(kind, g));
  if (swaps.length) sensitivityReports.push(`${kind}, ${swaps.length} swaps:\n${formatSensitivity(await conditionSensitivity(g, swaps))}`);
}
console.log(`held-out set: ${items.length} items (${perTask} per task), generator ${kind}${kind === 'model' || kind === 'clip-text' ? `, ${settings.backend}, ${settings.steps} DPM-Solver++ steps, guidance ${settings.guidance}` : ''}`);
console.log(formatTable(reports));
for (const r of reports) console.log(`${r.name}: ${(r.report.seconds / items.length).toFixed(2)} s per image`);
for (const text of sensitivityReports) console.log(`\ncondition sensitivity, ${text}`);
