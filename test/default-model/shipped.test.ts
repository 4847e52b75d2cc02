// The CI fidelity check of the shipped default model: generate a few held-out subject-driven pictures from
// default-model/weights/ through the user's graph and read them back with the pixel evaluator; and the user's
// first command, `kosmos-g run workflows/generate.json`, writes a PNG of the prompted subject with no set-up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describeReading, readImage } from '../../models/world/evaluate.ts';
import { fileURLToPath } from 'node:url';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { modelGenerator } from '../../default-model/generate.ts';
import { evaluate } from '../../models/world/score.ts';
import { buildSwaps, conditionSensitivity, formatSensitivity } from '../../models/world/sensitivity.ts';
import { weightsLayout } from '../../default-model/layout.ts';
import { SHIPPED_BYTES_LIMIT } from '../../default-model/config.ts';
import { SHIPPED_WEIGHTS_DIR } from '../../default-model/workflows.ts';

/** Under the shipped v5 weights' 88 % on these 24 swaps (v4: 79 %, v3: 67 %; docs/default-model.md). */
const SENSITIVITY_GUARD = 0.7;
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

// Thresholds are regression guards just below what the v4 weights measured on these items (subject-driven: 8 full
// passes of 8, the subject's colour in 8; text-to-image: 4 of 8; the model card has the 96-item scores); random or
// broken weights draw no shapes and score 0; v3, whose condition lost the subject's shape, was guarded at 2 of 8.
test('the shipped model draws the subject of held-out subject-driven prompts and the caption of text-to-image ones', { skip: missing }, async () => {
  const items = buildEvalSet({ perTask: 8 }).filter((i) => i.task === 'single' || i.task === 'text');
  const g = await modelGenerator({ weights: weights.dir, backend: 'onnx', steps: 25 });
  try {
    let colour = 0;
    const report = await evaluate(async (item) => {
      const image = await g.generate(item);
      if (item.task === 'single' && readImage(image).objects.some((o) => o.color === item.target.entities[0]!.color)) colour++;
      return image;
    }, items);
    const task = (name: string) => report.tasks.find((t) => t.task === name)!;
    const read = report.items.map((i) => `${i.id}: ${i.read}`).join('; ');
    assert.ok(task('single').fidelity >= 0.75, `single-entity fidelity ${task('single').fidelity}: ${read}`);
    assert.ok(colour >= 6, `the subject's colour in ${colour} of 8: ${read}`);
    assert.ok(task('text').fidelity >= 0.375, `text-to-image fidelity ${task('text').fidelity}: ${read}`);
  } finally {
    await g.close();
  }
});

// At a fixed seed, swapping the subject picture's colour or shape, or a caption word, must change what is drawn: a
// model that ignores its condition (the seed decides the picture) changes nothing (the seed-only generator: 0 %).
test('the shipped model follows its condition: swapping the subject or a word changes the picture', { skip: missing }, async () => {
  const items = buildEvalSet({ perTask: 4 }).filter((i) => i.task === 'single' || i.task === 'text');
  const swaps = buildSwaps(items);
  const g = await modelGenerator({ weights: weights.dir, backend: 'onnx', steps: 25 });
  try {
    const report = await conditionSensitivity(g.generate, swaps);
    console.log(`condition sensitivity of the shipped model:\n${formatSensitivity(report)}`);
    assert.ok(report.changed >= SENSITIVITY_GUARD, formatSensitivity(report));
  } finally {
    await g.close();
  }
});

test('kosmos-g run workflows/generate.json writes a PNG of a shape on the prompted background', { skip: missing }, async () => {
  const out = mkdtempSync(path.join(tmpdir(), 'kosmos-default-cli-'));
  try {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [path.join(root, 'bin', 'kosmos-g.js'), 'run', 'workflows/generate.json', '--out', out, '--json'], { cwd: root }, (error, so, se) =>
        error ? reject(new Error(`${error.message}\n${se}`)) : resolve(so),
      ),
    );
    const pngs = readdirSync(out).filter((f) => f.endsWith('.png'));
    assert.equal(pngs.length, 1, stdout);
    const { data, info } = await sharp(path.join(out, pngs[0]!)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height], [64, 64]);
    const reading = readImage({ width: info.width, height: info.height, data: new Uint8ClampedArray(data) });
    // workflows/generate.json: "a <i> on a mint background" with workflows/assets/world/red-circle.png. The default
    // model draws the red circle at some seeds only (single-entity fidelity is checked above); the first command must
    // give a picture of a shape on the background the prompt names.
    const read = describeReading(reading);
    assert.ok(reading.objects.length >= 1 && reading.background === 'mint', `read: ${read}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
