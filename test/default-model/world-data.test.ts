// The pipeline's world data is written once per (scenes, seed, size) and reused by later runs of some stages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prepareWorldData } from '../../default-model/world-data.ts';

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
