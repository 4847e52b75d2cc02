import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWorkflow, Registry, validateWorkflow } from '../../engine/index.ts';
import { STAGES, shippedStageWorkflow } from '../../models/default/workflows.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('workflows/default/ holds the six stage graphs the pipeline runs, and each one validates', async () => {
  const registry = await Registry.load({ env: false });
  for (const [i, stage] of STAGES.entries()) {
    const file = path.join(root, 'workflows', 'default', `${i + 1}-${stage}.json`);
    const shipped = JSON.parse(readFileSync(file, 'utf8'));
    assert.deepEqual(shipped, shippedStageWorkflow(stage, root), `${file} is stale: run npx tsx scripts/train-default.ts --write-workflows`);
    const issues = validateWorkflow(parseWorkflow(shipped, file), registry);
    assert.deepEqual(issues, [], `${stage}: ${JSON.stringify(issues)}`);
    const types = shipped.nodes.map((n: { type: string }) => n.type);
    assert.ok(types.includes('TrainLoop') && types.includes('SaveCheckpoint'), stage);
    for (const n of shipped.nodes) {
      for (const v of Object.values(n.widgets ?? {})) if (typeof v === 'string') assert.ok(!path.isAbsolute(v), `${stage} ${n.id}: ${v}`);
    }
  }
});
