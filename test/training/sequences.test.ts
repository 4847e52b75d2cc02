import test from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../models/ops/random.ts';
import {
  captionSequence, collateSequences, compositionalSequence, editSequence, imageCaptionSequence, IMAGE_TOKEN_LENGTH,
  maybeNullCondition, textConditionSequence, usableTags,
} from '../../models/data/sequences.ts';
import type { CompositionalRow, EditRow } from '../../models/data/datasets.ts';
import { wordTokenizer } from './fixtures.ts';

const img = (name: string) => ({ path: `/x/${name}.png` });

test('plain caption: src = [<s>] + caption, target = caption + [</s>]', () => {
  const tok = wordTokenizer();
  const s = captionSequence(tok, 'a red cube');
  assert.deepEqual(s.tokens, [0, 10, 11, 12]);
  assert.deepEqual(s.target, [10, 11, 12, 2]);
  assert.deepEqual(s.lossMask, [1, 1, 1, 1]);
  assert.deepEqual(textConditionSequence(tok, 'a red cube').tokens, [0, 10, 11, 12]);
});

test('image–caption LM sequence: image block of 66 positions, loss on text targets only', () => {
  const tok = wordTokenizer();
  const s = imageCaptionSequence(tok, 'a cube', img('a'));
  assert.equal(s.tokens.length, 1 + 66 + 2);
  assert.deepEqual(s.tokens.slice(0, 3), [0, 90, 90]);
  assert.equal(s.tokens[66], 91);
  assert.equal(s.imageMask.reduce((a, b) => a + b), IMAGE_TOKEN_LENGTH);
  assert.equal(s.imageMask[1], 0);
  assert.equal(s.imageMask[2], 1);
  // Targets: 65× <image>, </image> masked; then 'a', 'cube', </s> counted.
  assert.equal(s.lossMask!.reduce((a, b) => a + b), 3);
  assert.deepEqual(s.target!.slice(-3), [10, 11, 2]);
});

test('tag rules: colours, missing words and ambiguous tags are dropped; sorted by position', () => {
  const spans = usableTags('a dog sits next to a cat and a red ball near a dog house', ['cat', 'red', 'dog', 'bird', 'ball']);
  assert.deepEqual(spans.map((s) => s.tag), ['cat', 'ball']);
  assert.deepEqual(usableTags('the catalog', ['cat']), []);
});

test('compositional: text up to the entity word (or before it), then <image>×65 </image>, crop or masked crop', () => {
  const tok = wordTokenizer();
  const row: CompositionalRow = {
    line: 1, caption: 'a dog on a sofa', image: img('full'),
    entities: [{ tag: 'dog', crop: img('crop'), masked: img('masked') }],
  };
  const seen = { drop: 0, keep: 0, crop: 0, masked: 0 };
  const a = tok.encode('a'), dog = tok.encode('dog'), rest = tok.encode('on a sofa');
  for (let seed = 0; seed < 400; seed++) {
    const s = compositionalSequence(tok, row, new Rng(seed));
    assert.equal(s.targetImage, row.image);
    assert.equal(s.images.length, 1);
    const block = [...new Array(65).fill(90), 91];
    const keep = [0, ...a, ...dog, ...block, ...rest];
    const drop = [0, ...a, ...block, ...rest];
    if (JSON.stringify(s.tokens) === JSON.stringify(keep)) seen.keep++;
    else if (JSON.stringify(s.tokens) === JSON.stringify(drop)) seen.drop++;
    else assert.fail(`unexpected sequence ${s.tokens}`);
    if (s.images[0] === row.entities[0]!.crop) seen.crop++;
    else seen.masked++;
    assert.deepEqual(compositionalSequence(tok, row, new Rng(seed)).tokens, s.tokens, 'deterministic by seed');
  }
  for (const k of ['drop', 'keep', 'crop', 'masked'] as const) assert.ok(seen[k] > 150 && seen[k] < 250, `${k}: ${seen[k]}`);
});

test('edit: [<s>] + input caption (dropped half the time) + image block + instruction; target = edited image', () => {
  const tok = wordTokenizer();
  const row: EditRow = { line: 1, inputCaption: 'a cat', instruction: 'make it blue', pairs: [{ input: img('in'), edited: img('out') }] };
  let dropped = 0;
  for (let seed = 0; seed < 200; seed++) {
    const s = editSequence(tok, row, new Rng(seed));
    assert.equal(s.targetImage, row.pairs[0]!.edited);
    assert.deepEqual(s.images, [row.pairs[0]!.input]);
    assert.deepEqual(s.tokens.slice(-3), tok.encode('make it blue'));
    if (s.tokens[1] === 90) dropped++;
    else assert.deepEqual(s.tokens.slice(1, 3), tok.encode('a cat'));
  }
  assert.ok(dropped > 70 && dropped < 130, `dropped ${dropped}`);
});

test('null condition replaces about 10 % of conditions by [<s>] and keeps the target', () => {
  const tok = wordTokenizer();
  const base = { ...textConditionSequence(tok, 'a cube'), targetImage: img('t') };
  const rng = new Rng(7);
  let nulls = 0;
  for (let i = 0; i < 2000; i++) {
    const s = maybeNullCondition(tok, base, rng);
    if (s.isNull) {
      nulls++;
      assert.deepEqual(s.tokens, [0]);
      assert.equal(s.targetImage, base.targetImage);
    }
  }
  assert.ok(nulls > 150 && nulls < 250, `nulls ${nulls}`);
});

test('collate right-pads tokens with <pad> and masks with 0', () => {
  const tok = wordTokenizer();
  const c = collateSequences([captionSequence(tok, 'a b c'), captionSequence(tok, 'a')], tok.pad);
  assert.equal(c.length, 4);
  assert.deepEqual([...c.tokens], [0, 10, 11, 12, 0, 10, 1, 1]);
  assert.deepEqual([...c.target!], [10, 11, 12, 2, 10, 2, 1, 1]);
  assert.deepEqual([...c.lossMask!], [1, 1, 1, 1, 1, 1, 0, 0]);
  assert.deepEqual([...c.padMask], [0, 0, 0, 0, 0, 0, 1, 1]);
});
