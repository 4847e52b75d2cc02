import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../models/ops/random.ts';
import { caption, entityCrops, render, sampleEdit, sampleScene, subjectImage } from '../../models/world/scene.ts';
import { contains, readImage } from '../../models/world/evaluate.ts';
import { COLOR_NAMES, SHAPES } from '../../models/world/palette.ts';

test('the same seed draws the same scene, pixel for pixel', () => {
  const a = render(sampleScene(new Rng(7)));
  const b = render(sampleScene(new Rng(7)));
  assert.deepEqual(a.data, b.data);
  const c = render(sampleScene(new Rng(8)));
  assert.notDeepEqual(a.data, c.data);
});

test('captions name every entity, the relation and the background', () => {
  const rng = new Rng(3);
  for (let i = 0; i < 50; i++) {
    const s = sampleScene(rng);
    const text = caption(s);
    for (const e of s.entities) assert.match(text, new RegExp(`${e.color} ${e.shape}`));
    assert.match(text, new RegExp(`on a ${s.background} background$`));
    if (s.entities.length === 2) assert.ok(text.includes(s.relation!), text);
  }
});

test('the evaluator reads back every shape and colour of 200 rendered scenes', () => {
  const rng = new Rng(11);
  let entities = 0;
  let found = 0;
  for (let i = 0; i < 200; i++) {
    const s = sampleScene(rng);
    const reading = readImage(render(s));
    assert.equal(reading.background, s.background);
    for (const e of s.entities) {
      entities++;
      if (contains(reading, e.color, e.shape)) found++;
    }
  }
  // The generator's own pictures are the ceiling every trained model is measured against: it must be ~perfect.
  assert.ok(found / entities >= 0.98, `read back ${found}/${entities}`);
});

test('subject images of every shape and colour are recognised', () => {
  for (const shape of SHAPES) {
    for (const color of COLOR_NAMES) {
      const reading = readImage(subjectImage(shape, color));
      assert.ok(contains(reading, color, shape), `${color} ${shape}: ${JSON.stringify(reading.objects)}`);
    }
  }
});

test('crops show their entity; masked crops show it alone on white', () => {
  const rng = new Rng(5);
  const s = sampleScene(rng, { pairProbability: 1 });
  for (let i = 0; i < 2; i++) {
    const { crop, masked } = entityCrops(s, i);
    const e = s.entities[i];
    assert.ok(contains(readImage(crop), e.color, e.shape));
    const m = readImage(masked);
    assert.equal(m.objects.length, 1);
    assert.ok(contains(m, e.color, e.shape));
  }
});

test('an edit changes what its instruction says and keeps the rest', () => {
  const rng = new Rng(9);
  for (let i = 0; i < 30; i++) {
    const s = sampleScene(rng);
    const edit = sampleEdit(rng, s);
    const after = readImage(render(edit.after));
    const colour = /make the (?:\w+ )?(\w+) (\w+)$/.exec(edit.instruction);
    if (edit.instruction.startsWith('make the background')) {
      assert.equal(after.background, edit.after.background);
      assert.notEqual(edit.after.background, s.background);
    } else {
      assert.ok(colour, edit.instruction);
      const changed = edit.after.entities.find((e, j) => e.color !== s.entities[j].color)!;
      assert.equal(changed.color, colour![2]);
      assert.ok(contains(after, changed.color, changed.shape));
    }
    assert.equal(edit.after.entities.length, s.entities.length);
  }
});

test('a written world data set reads back through the training data readers', async () => {
  const { mkdtemp, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { writeWorldData } = await import('../../models/world/write.ts');
  const { readCaptions, readCompositional, readEditTriples, readImageCaptions } = await import('../../models/data/datasets.ts');
  const root = await mkdtemp(path.join(os.tmpdir(), 'world-'));
  try {
    const files = await writeWorldData(path.join(root, 'set'), { count: 6, seed: 1, size: 32 });
    assert.equal(readCaptions(files.captions).rows.length, 6);
    const pairs = readImageCaptions(files.imageCaptions);
    assert.equal(pairs.rows.length, 6);
    assert.equal(pairs.report.skipped.length, 0);
    const comp = readCompositional(files.compositional);
    assert.equal(comp.rows.length, 6);
    for (const row of comp.rows) for (const e of row.entities) assert.ok(row.caption.includes(e.tag));
    const edits = readEditTriples(files.edits);
    assert.equal(edits.rows.length, 6);
    assert.match(edits.rows[0].instruction, /^make the /);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
