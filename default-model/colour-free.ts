// Subject-driven prompts name a subject by its image alone ("a <i> on a mint background"), but the world's
// compositional captions always keep the colour word ("a red <i> …": the reference loader cuts only the tag word,
// spec §1.10). So beside each compositional row this adds a copy whose caption drops the colour words ("a circle
// left of a square on a pink background"): with the tag cut, the MLLM sees exactly the evaluation's prompt form
// and must take the colour from the image. Run after removeHeldOut (the copies are no longer parseable captions).

import { readFile, rename, writeFile } from 'node:fs/promises';
import { COLOR_NAMES } from '../models/world/palette.ts';

const COLOUR_WORD = new RegExp(`\\b(?:${COLOR_NAMES.join('|')}) (?=\\w)`, 'g');

export function withoutColours(caption: string): string {
  return caption.replace(COLOUR_WORD, '');
}

/** Appends a colour-free copy of every row; returns the number of rows added. */
export async function addColourFreeRows(compositional: string): Promise<number> {
  const rows = (await readFile(compositional, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const copies = rows.map((line) => {
    const row = JSON.parse(line) as { caption: string };
    // The copy means what the original says: the target of an alignment to the CLIP text condition.
    return JSON.stringify({ ...row, caption: withoutColours(row.caption), meaning: row.caption });
  });
  const tmp = `${compositional}.tmp-${process.pid}`;
  await writeFile(tmp, [...rows, ...copies].join('\n') + '\n');
  await rename(tmp, compositional);
  return copies.length;
}
