// The pipeline's world data is written once per (scenes, seed, size) and reused by later runs of some stages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prepareWorldData } from '../../default-model/world-data.ts';
import { editedCaption, readingOrder } from '../../models/world/heldout.ts';

test('prepared world data is reused for the same request and written again for another or an incomplete one', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'world-data-'));
  const world = path.join(dir, 'world');
  try {
    const first = await prepareWorldData(world, { scenes: 12, seed: 3, size: 32 });
    assert.equal(first.reused, false);
    assert.ok(first.colourFree > 0);
    const written = statSync(first.files.captions).mtimeMs;
    const captions = readFileSync(first.files.captions, 'utf8');

    const again = await prepareWorldData(world, { scenes: 12, seed: 3, size: 32 });
    assert.equal(again.reused, true);
    assert.deepEqual(again.split, first.split, 'the split counts come back with their files');
    assert.equal(again.colourFree, first.colourFree);
    assert.equal(statSync(again.files.captions).mtimeMs, written, 'nothing was written again');

    const other = await prepareWorldData(world, { scenes: 12, seed: 4, size: 32 });
    assert.equal(other.reused, false, 'another seed writes other scenes');
    assert.notEqual(readFileSync(other.files.captions, 'utf8'), captions);

    writeFileSync(path.join(world, 'prepared.json'), '{ "format": "kosmos-g/default-wor');
    assert.equal((await prepareWorldData(world, { scenes: 12, seed: 4, size: 32 })).reused, false, 'a torn manifest is no manifest');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stage 1 subject captions: each entity of the kept scenes as its masked crop and its crop, in caption order', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'world-subjects-'));
  const world = path.join(dir, 'world');
  try {
    const first = await prepareWorldData(world, { scenes: 12, seed: 3, size: 32 });
    const compositional = readFileSync(first.files.compositional, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { caption: string; meaning?: string; entities: { crop: string; masked: string }[] });
    const originals = compositional.filter((r) => r.meaning === undefined);
    const rows = readFileSync(first.subjectCaptions.file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { caption: string; image: string });
    assert.equal(rows.length, first.subjectCaptions.rows);
    assert.equal(rows.length, 2 * originals.reduce((n, r) => n + r.entities.length, 0), 'two rows per entity; colour-free copies add none');
    const two = originals.find((r) => r.entities.length === 2)!;
    const [a, b] = [...two.caption.matchAll(/a (\w+ \w+)(?= (?:left|right|above|below|on))/g)].map((m) => m[1]);
    const background = /on a (\w+) background/.exec(two.caption)![1];
    assert.deepEqual(
      rows.filter((r) => two.entities.some((e) => e.masked === r.image || e.crop === r.image)),
      [
        { caption: `a ${a}`, image: two.entities[0]!.masked },
        { caption: `a ${a} on a ${background} background`, image: two.entities[0]!.crop },
        { caption: `a ${b}`, image: two.entities[1]!.masked },
        { caption: `a ${b} on a ${background} background`, image: two.entities[1]!.crop },
      ],
    );

    // Every edit row carries the edited scene's caption (stage 3's alignment target for edit prompts).
    const edits = () => readFileSync(first.files.edits, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { input_caption: string; instruction: string; meaning?: string });
    const withMeanings = edits();
    assert.ok(withMeanings.length > 0);
    for (const e of withMeanings) assert.equal(e.meaning, readingOrder(editedCaption(e.input_caption, e.instruction)!));

    // A folder prepared before subject captions and edit meanings existed gets them on reuse, without writing the
    // scenes again.
    const manifestFile = path.join(world, 'prepared.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<string, unknown>;
    delete manifest.subjectCaptions;
    delete manifest.editMeanings;
    writeFileSync(manifestFile, JSON.stringify(manifest));
    rmSync(first.subjectCaptions.file);
    writeFileSync(first.files.edits, withMeanings.map(({ meaning: _, ...row }) => JSON.stringify(row)).join('\n') + '\n');
    const written = statSync(first.files.captions).mtimeMs;
    const again = await prepareWorldData(world, { scenes: 12, seed: 3, size: 32 });
    assert.equal(again.reused, true);
    assert.equal(statSync(again.files.captions).mtimeMs, written);
    assert.equal(readFileSync(again.subjectCaptions.file, 'utf8').trim().split('\n').length, rows.length);
    assert.equal((JSON.parse(readFileSync(manifestFile, 'utf8')) as { subjectCaptions: number }).subjectCaptions, rows.length);
    assert.deepEqual(edits(), withMeanings);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
