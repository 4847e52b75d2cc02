// The CI fidelity check of the shipped default model: generate a few held-out subject-driven pictures from
// models/default/weights/ through the user's graph and read them back with the pixel evaluator.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEvalSet } from '../../models/default/eval-set.ts';
import { modelGenerator } from '../../models/default/generate.ts';
import { evaluate } from '../../models/default/score.ts';
import { weightsLayout } from '../../models/default/layout.ts';
import { SHIPPED_BYTES_LIMIT } from '../../models/default/config.ts';
import { SHIPPED_WEIGHTS_DIR } from '../../models/default/workflows.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const weights = weightsLayout(path.join(root, SHIPPED_WEIGHTS_DIR));
const missing = existsSync(weights.kosmosG) ? undefined : `${SHIPPED_WEIGHTS_DIR} has no trained weights yet (npm run train:default)`;

function folderBytes(dir: string): number {
  return readdirSync(dir).reduce((n, name) => {
    const p = path.join(dir, name);
    return n + (statSync(p).isDirectory() ? folderBytes(p) : statSync(p).size);
  }, 0);
}

test('the shipped weights fit the size limit', { skip: missing }, () => {
  assert.ok(folderBytes(weights.dir) <= SHIPPED_BYTES_LIMIT, `${folderBytes(weights.dir)} bytes`);
});

test('the shipped model draws the subject of held-out subject-driven prompts', { skip: missing }, async () => {
  const items = buildEvalSet({ perTask: 4 }).filter((i) => i.task === 'single');
  const g = await modelGenerator({ weights: weights.dir, backend: 'onnx', steps: 25 });
  try {
    const report = await evaluate(g.generate, items);
    const single = report.tasks[0]!;
    assert.ok(single.fidelity >= 0.5, `single-entity fidelity ${single.fidelity}: ${report.items.map((i) => i.read).join('; ')}`);
  } finally {
    await g.close();
  }
});
