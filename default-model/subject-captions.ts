// Stage 1 is where the connector learns to carry what the MLLM must say about a picture. The world's image–caption
// pairs are whole scenes, where a shape is ~10 px across and ~5 px after the vision tower's 32-px resize, so the
// captioner learns to guess shapes and the connector drops the subject's shape that subject-driven prompts need
// (bench/default-model/subject-path.ts: the shape read back from the resampler's latents at chance, 25 %, while the
// vision tokens hold it at 96 %). So beside the scenes, stage 1 also captions each entity as a subject prompt shows
// it: the masked crop (the entity alone on white) as "a red square", the crop in its scene as "a red square on a
// mint background". Written from the compositional rows left after removeHeldOut, so no held-out triple enters.

import { readLines } from '../models/data/lines.ts';
import { writeFileAtomic } from '../models/io/atomic.ts';
import { parseCaption } from '../models/world/heldout.ts';

interface CompositionalRow {
  caption: string;
  entities: { crop: string; masked: string }[];
}

/** Writes `out` (JSONL {caption, image}, image paths as in the compositional rows); returns the number of rows. */
export async function writeSubjectCaptions(compositional: string, out: string): Promise<number> {
  const rows: string[] = [];
  for (const { text } of readLines(compositional)) {
    const row = JSON.parse(text) as CompositionalRow;
    // Colour-free copies (colour-free.ts) do not parse: their entities are the original row's, already taken.
    const parsed = parseCaption(row.caption);
    if (!parsed || parsed.things.length !== row.entities.length) continue;
    row.entities.forEach((entity, i) => {
      const { color, shape } = parsed.things[i]!;
      rows.push(JSON.stringify({ caption: `a ${color} ${shape}`, image: entity.masked }));
      rows.push(JSON.stringify({ caption: `a ${color} ${shape} on a ${parsed.background} background`, image: entity.crop }));
    });
  }
  await writeFileAtomic(out, rows.join('\n') + '\n');
  return rows.length;
}
