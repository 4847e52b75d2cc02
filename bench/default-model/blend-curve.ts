// How close to the CLIP text condition of the target scene KOSMOS-G's condition must come before the picture follows:
// each held-out item generated with its condition blended towards that CLIP text (ConditioningAverage, weight w of the
// CLIP text; w = 0 is the model, w = 1 the U-Net's ceiling through a perfect condition), edits from their picture as
// always. One row per weight, one column per task (docs/default-model.md, where the gap is).
//   npx tsx bench/default-model/blend-curve.ts [--weights DIR] [--tasks single,multi,text,edit] [--per-task N]
//        [--blend 0,0.25,0.5,0.75,1] [--guidance G]
import path from 'node:path';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { caption } from '../../models/world/scene.ts';
import { evaluate } from '../../models/world/score.ts';
import { DEFAULT_GUIDANCE, modelGenerator } from '../../default-model/generate.ts';
import { REPO_ROOT } from './conditions.ts';

const argv = process.argv.slice(2);
const opt = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
};
const tasks = opt('tasks', 'single,multi,text,edit').split(',');
const weights = opt('blend', '0,0.25,0.5,0.75,1').split(',').map(Number);
const items = buildEvalSet({ perTask: Number(opt('per-task', '24')) }).filter((i) => tasks.includes(i.task));
const settings = { weights: path.resolve(REPO_ROOT, opt('weights', 'default-model/weights')), guidance: Number(opt('guidance', String(DEFAULT_GUIDANCE))) };

console.log(`${items.length} held-out items, guidance ${settings.guidance}; the condition is w · CLIP text of the target scene + (1 − w) · KOSMOS-G's\n`);
console.log(`| w (CLIP text's share) | ${tasks.join(' | ')} |`);
console.log(`| --- | ${tasks.map(() => '---').join(' | ')} |`);
for (const weight of weights) {
  const g = await modelGenerator({ ...settings, blend: { weight, caption: (item) => caption(item.target) } });
  const report = await evaluate(g.generate, items);
  await g.close();
  const cells = tasks.map((t) => report.tasks.find((r) => r.task === t)).map((r) => (r ? `${(100 * r.fidelity).toFixed(1)} %` : '–'));
  console.log(`| ${weight} | ${cells.join(' | ')} |`);
}
