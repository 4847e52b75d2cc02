import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildEvalSet, EVAL_TASKS } from '../../models/world/eval-set.ts';
import { evaluate, formatTable } from '../../models/world/score.ts';
import { blankGenerator, copyGenerator, oracleGenerator, seedOnlyGenerator } from '../../models/world/generators.ts';
import { buildSwaps, conditionSensitivity, formatSensitivity } from '../../models/world/sensitivity.ts';
import { anyHeldOut, applyInstruction, editedCaption, isHeldOut, parseCaption, readingOrder } from '../../models/world/heldout.ts';
import { BACKGROUND_NAMES, COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';
import { Rng } from '../../models/ops/random.ts';
import { caption, sampleEdit, sampleScene } from '../../models/world/scene.ts';

const items = buildEvalSet({ perTask: 24 });

test('the held-out split keeps one background per colour × shape', () => {
  for (const color of COLOR_NAMES) {
    for (const shape of SHAPES) {
      assert.equal(BACKGROUND_NAMES.filter((b) => isHeldOut(color, shape, b)).length, 1, `${color} ${shape}`);
    }
  }
});

test('every evaluation item asks for a held-out triple, so no training caption can match it', () => {
  assert.equal(items.length, 4 * 24);
  for (const task of EVAL_TASKS) assert.equal(items.filter((i) => i.task === task).length, 24, task);
  for (const item of items) assert.ok(anyHeldOut(item.target.entities, item.target.background), item.id);
});

test('the same seed gives the same set; another seed another', () => {
  const again = buildEvalSet({ perTask: 24 });
  assert.deepEqual(again.map((i) => [i.prompt, i.seed]), items.map((i) => [i.prompt, i.seed]));
  const other = buildEvalSet({ perTask: 24, seed: 5 });
  assert.notDeepEqual(other.map((i) => i.prompt), items.map((i) => i.prompt));
});

test('captions and edit instructions are parsed back to the scene they describe', () => {
  const rng = new Rng(4);
  for (let i = 0; i < 100; i++) {
    const scene = sampleScene(rng);
    const parsed = parseCaption(caption(scene));
    assert.ok(parsed);
    assert.equal(parsed.background, scene.background);
    assert.deepEqual(parsed.things, scene.entities.map(({ color, shape }) => ({ color, shape })));
    const edit = sampleEdit(rng, scene);
    const after = applyInstruction(parsed, edit.instruction);
    assert.ok(after, edit.instruction);
    assert.equal(after.background, edit.after.background);
    assert.deepEqual(after.things, edit.after.entities.map(({ color, shape }) => ({ color, shape })));
    // The edited scene's caption (stage 3's alignment target for edit prompts) is the caption of the edited scene.
    assert.equal(editedCaption(caption(scene), edit.instruction), caption(edit.after), edit.instruction);
  }
  assert.equal(parseCaption('hello world'), undefined);
  assert.equal(editedCaption('a red circle on a white background', 'make the star blue'), undefined);
  assert.equal(editedCaption('a red circle on a white background', 'draw a cat'), undefined);
  assert.equal(applyInstruction({ things: [{ color: 'red', shape: 'circle' }], background: 'white' }, 'make the star blue'), undefined);
});

test('readingOrder names the left or upper entity of a pair first, whichever the caption named first', () => {
  const rng = new Rng(11);
  let pairs = 0;
  for (let i = 0; i < 200; i++) {
    const scene = sampleScene(rng);
    const ordered = readingOrder(caption(scene));
    if (scene.entities.length !== 2) {
      assert.equal(ordered, caption(scene));
      continue;
    }
    pairs++;
    const [a, b] = scene.entities;
    const horizontal = scene.relation === 'left of' || scene.relation === 'right of';
    const first = (horizontal ? a!.cx < b!.cx : a!.cy < b!.cy) ? a! : b!;
    const second = first === a ? b! : a!;
    assert.equal(ordered, `a ${first.color} ${first.shape} ${horizontal ? 'left of' : 'above'} a ${second.color} ${second.shape} on a ${scene.background} background`);
  }
  assert.ok(pairs >= 40, `${pairs} pairs`);
});

test('the oracle generator scores ~100 % on every task', async () => {
  const report = await evaluate(oracleGenerator, items);
  for (const t of report.tasks) {
    assert.ok(t.fidelity >= 0.95, `${t.task}: oracle fidelity ${t.fidelity}`);
    assert.ok(t.background >= 0.95, `${t.task}: oracle background ${t.background}`);
  }
});

test('a blank generator scores 0 %, and copying the input image fails the edits', async () => {
  const blank = await evaluate(blankGenerator, items);
  for (const t of blank.tasks) assert.equal(t.fidelity, 0, t.task);
  const copy = await evaluate(copyGenerator, items.filter((i) => i.task === 'edit'));
  assert.ok(copy.tasks[0].fidelity <= 0.05, `copy edit fidelity ${copy.tasks[0].fidelity}`);
});

test('the table names every task and both reports', async () => {
  const some = items.filter((_, i) => i % 8 === 0);
  const table = formatTable([
    { name: 'oracle', report: await evaluate(oracleGenerator, some) },
    { name: 'blank', report: await evaluate(blankGenerator, some) },
  ]);
  for (const word of ['single entity', 'multi entity', 'text-to-image', 'editing', 'oracle fidelity', 'blank fidelity', '0.0 %']) {
    assert.ok(table.includes(word), `${word} missing in\n${table}`);
  }
});

test('removeHeldOut leaves no held-out caption or edit result in a written world data set', async () => {
  const { mkdtemp, readFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const { writeWorldData } = await import('../../models/world/write.ts');
  const { removeHeldOut } = await import('../../default-model/split-data.ts');
  const root = await mkdtemp(path.join(tmpdir(), 'default-split-'));
  try {
    const files = await writeWorldData(path.join(root, 'world'), { count: 60, seed: 1, size: 32 });
    const counts = await removeHeldOut(files);
    assert.equal(counts.length, 4);
    for (const c of counts) {
      assert.equal(c.kept + c.dropped, 60, c.file);
      assert.ok(c.dropped > 0 && c.kept > 30, `${c.file}: kept ${c.kept}, dropped ${c.dropped}`);
    }
    for (const file of [files.captions, files.imageCaptions, files.compositional]) {
      for (const line of (await readFile(file, 'utf8')).trim().split('\n')) {
        const parsed = parseCaption(JSON.parse(line).caption);
        assert.ok(parsed && !anyHeldOut(parsed.things, parsed.background), line);
      }
    }
    for (const line of (await readFile(files.edits, 'utf8')).trim().split('\n')) {
      const row = JSON.parse(line);
      const after = applyInstruction(parseCaption(row.input_caption)!, row.instruction)!;
      assert.ok(!anyHeldOut(after.things, after.background), line);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('colour-free compositional captions match the subject-driven prompt form once the tag is cut', async () => {
  const { withoutColours } = await import('../../default-model/colour-free.ts');
  assert.equal(withoutColours('a red circle left of a blue square on a pink background'), 'a circle left of a square on a pink background');
  assert.equal(withoutColours('a green star on a mint background'), 'a star on a mint background');
  // The background words are not colours of the palette: they stay.
  assert.equal(withoutColours('a purple triangle on a cream background'), 'a triangle on a cream background');
  // Each copy keeps what it means: the original caption, the target of the image-alignment loss.
  const { addColourFreeRows } = await import('../../default-model/colour-free.ts');
  const { mkdtemp, readFile, rm, writeFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'colour-free-'));
  try {
    const file = path.join(dir, 'compositional.jsonl');
    await writeFile(file, JSON.stringify({ caption: 'a red circle on a mint background', image: 'a.png', entities: [] }) + '\n');
    assert.equal(await addColourFreeRows(file), 1);
    const rows = (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => [r.caption, r.meaning]), [['a red circle on a mint background', undefined], ['a circle on a mint background', 'a red circle on a mint background']]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('condition sensitivity: the oracle follows every swap, a seed-only generator changes nothing', async () => {
  const swaps = buildSwaps(items.filter((i) => i.task === 'single' || i.task === 'text'));
  assert.ok(swaps.length >= 24, `${swaps.length} swaps`);
  assert.deepEqual(new Set(swaps.map((s) => s.kind)), new Set(['colour', 'shape', 'background']));
  // Every swap asks for something new: the variant's prompt or subject picture differs from the base's.
  for (const s of swaps) assert.ok(s.variant.prompt !== s.base.prompt || s.variant.images[0] !== s.base.images[0], s.variant.id);
  const oracle = await conditionSensitivity(oracleGenerator, swaps);
  assert.equal(oracle.changed, 1, formatSensitivity(oracle));
  assert.equal(oracle.followed, 1, formatSensitivity(oracle));
  const seedOnly = await conditionSensitivity(seedOnlyGenerator, swaps);
  assert.equal(seedOnly.changed, 0, formatSensitivity(seedOnly));
  assert.match(formatSensitivity(oracle), /\| \*\*all\*\* \| \d+ \| \*\*100 %\*\*/);
});
