// The shape reader against pictures labelled by hand (test/fixtures/shape-reader/labels.json: 108 generated
// pictures, two U-Nets, and the labelling protocol). A picture agrees when the reader's set of shapes (blobs left
// out) equals the labelled one. The goal is 95 % agreement; the reader reaches 83 % (docs/default-model.md,
// the shape reader), so this guards that level and prints every disagreement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readImage } from '../../models/world/evaluate.ts';
import { render, sampleScene } from '../../models/world/scene.ts';
import { Rng } from '../../models/ops/random.ts';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'shape-reader');
const labels = JSON.parse(readFileSync(path.join(dir, 'labels.json'), 'utf8')) as { images: { file: string; shapes: string[] }[] };

test('the shape reader agrees with the hand labels on at least 80 % of 108 generated pictures', async () => {
  assert.ok(labels.images.length >= 60);
  const wrong: string[] = [];
  for (const item of labels.images) {
    const { data, info } = await sharp(path.join(dir, item.file)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const reading = readImage({ width: info.width, height: info.height, data: new Uint8ClampedArray(data) });
    const got = reading.objects.filter((o) => o.shape !== 'blob').map((o) => o.shape).sort();
    if (JSON.stringify(got) !== JSON.stringify([...item.shapes].sort())) wrong.push(`${item.file}: labelled ${item.shapes.join(', ') || '-'}, read ${got.join(', ') || '-'}`);
  }
  const agreement = 1 - wrong.length / labels.images.length;
  console.log(`shape reader: ${(100 * agreement).toFixed(1)} % agreement with the hand labels; disagreements:\n  ${wrong.join('\n  ')}`);
  assert.ok(agreement >= 0.8, wrong.join('\n'));
});

test('drawn world shapes read as themselves at every size the world draws, lumps do not', () => {
  const rng = new Rng(17);
  let entities = 0, right = 0;
  for (let i = 0; i < 400; i++) {
    const scene = sampleScene(rng, { size: 64 });
    const reading = readImage(render(scene));
    for (const e of scene.entities) {
      entities++;
      if (reading.objects.some((o) => o.color === e.color && o.shape === e.shape)) right++;
    }
  }
  assert.ok(right / entities >= 0.995, `${right} of ${entities}`);
  // A lumpy disc: a circle with a bite and a bump is a blob, not a circle.
  const img = render({ size: 64, background: 'white', entities: [{ shape: 'circle', color: 'blue', cx: 32, cy: 32, r: 16 }] });
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const o = (y * 64 + x) * 3;
      const bite = Math.hypot(x - 44, y - 24) < 7;
      const bump = Math.hypot(x - 18, y - 44) < 8;
      if (bite) img.data.set([250, 250, 250], o);
      if (bump) img.data.set([40, 80, 220], o);
    }
  }
  assert.deepEqual(readImage(img).objects.map((o) => `${o.color} ${o.shape}`), ['blue blob']);
});
