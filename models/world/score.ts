// Scoring generated images against the held-out prompt set with the world's pixel-analysis evaluator
// (models/world/evaluate.ts): an item passes when the picture holds what its prompt asks for —
//   single / multi / text: every intended entity's colour and shape;
//   edit: every entity of the edited scene and the intended background, and the recoloured entity's old look gone.
// The background is also reported on its own (it is not part of the issue's pass criteria except for edits).

import { contains, describeReading, readImage } from './evaluate.ts';
import type { Raster } from './raster.ts';
import { EVAL_TASKS, type EvalItem, type EvalTask } from './eval-set.ts';

export interface ItemScore {
  id: string;
  task: EvalTask;
  pass: boolean;
  background: boolean;
  /** What the evaluator read, for reports: "red circle, blue square / pink". */
  read: string;
}

export interface TaskScore {
  task: EvalTask;
  items: number;
  /** Fraction of items that pass, 0..1. */
  fidelity: number;
  background: number;
}

export interface EvalReport {
  items: ItemScore[];
  tasks: TaskScore[];
  seconds: number;
}

export type Generator = (item: EvalItem) => Promise<Raster> | Raster;

export function scoreImage(item: EvalItem, image: Raster): ItemScore {
  const reading = readImage(image);
  const present = item.target.entities.every((e) => contains(reading, e.color, e.shape));
  const background = reading.background === item.target.background;
  let pass = present;
  if (item.task === 'edit') {
    const gone = item.gone.every((t) => !contains(reading, t.color, t.shape));
    pass = present && gone && background;
  }
  return { id: item.id, task: item.task, pass, background, read: describeReading(reading) };
}

export function summarise(items: readonly ItemScore[]): TaskScore[] {
  return EVAL_TASKS.filter((task) => items.some((i) => i.task === task)).map((task) => {
    const mine = items.filter((i) => i.task === task);
    return {
      task,
      items: mine.length,
      fidelity: mine.filter((i) => i.pass).length / mine.length,
      background: mine.filter((i) => i.background).length / mine.length,
    };
  });
}

export async function evaluate(
  generate: Generator,
  items: readonly EvalItem[],
  onItem?: (done: number, total: number, score: ItemScore) => void,
): Promise<EvalReport> {
  const start = performance.now();
  const scores: ItemScore[] = [];
  for (const item of items) {
    const score = scoreImage(item, await generate(item));
    scores.push(score);
    onItem?.(scores.length, items.length, score);
  }
  return { items: scores, tasks: summarise(scores), seconds: (performance.now() - start) / 1000 };
}

const TASK_NAMES: Record<EvalTask, string> = {
  single: 'single entity (subject-driven)',
  multi: 'multi entity',
  text: 'text-to-image',
  edit: 'editing',
};

/** A markdown table of one or more reports side by side (e.g. the full model and the stage-2-only ablation). */
export function formatTable(reports: readonly { name: string; report: EvalReport }[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const head = `| task | items | ${reports.map((r) => `${r.name} fidelity | ${r.name} background`).join(' | ')} |`;
  const rule = `| --- | --- | ${reports.map(() => '--- | ---').join(' | ')} |`;
  const rows = EVAL_TASKS.filter((t) => reports.some((r) => r.report.tasks.some((s) => s.task === t))).map((task) => {
    const cells = reports.map((r) => {
      const s = r.report.tasks.find((x) => x.task === task);
      return s ? `${pct(s.fidelity)} | ${pct(s.background)}` : '– | –';
    });
    const n = reports[0].report.tasks.find((x) => x.task === task)?.items ?? 0;
    return `| ${TASK_NAMES[task]} | ${n} | ${cells.join(' | ')} |`;
  });
  return [head, rule, ...rows].join('\n');
}
