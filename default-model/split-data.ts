// Removes the held-out triples (heldout.ts) from a world data set written by models/world/write.ts, so the
// default model never trains on a scene the evaluation asks for. Every JSONL file is rewritten atomically
// (temp file + rename); an edit row is dropped when its input or its result holds a held-out triple.

import { readFile, rename, writeFile } from 'node:fs/promises';
import type { WorldDataFiles } from '../models/world/write.ts';
import { anyHeldOut, applyInstruction, parseCaption, type ParsedCaption } from '../models/world/heldout.ts';

export class SplitError extends Error {
  readonly code = 'DEFAULT_DATA_ROW';
}

export interface SplitCounts {
  file: string;
  kept: number;
  dropped: number;
}

function heldOut(p: ParsedCaption): boolean {
  return anyHeldOut(p.things, p.background);
}

async function filterLines(file: string, drop: (row: Record<string, unknown>, where: string) => boolean): Promise<SplitCounts> {
  const lines = (await readFile(file, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  const kept: string[] = [];
  lines.forEach((line, i) => {
    if (!drop(JSON.parse(line) as Record<string, unknown>, `${file}:${i + 1}`)) kept.push(line);
  });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, kept.join('\n') + '\n');
  await rename(tmp, file);
  return { file, kept: kept.length, dropped: lines.length - kept.length };
}

function captionOf(row: Record<string, unknown>, field: string, where: string): ParsedCaption {
  const text = row[field];
  const parsed = typeof text === 'string' ? parseCaption(text) : undefined;
  if (!parsed) throw new SplitError(`${where}: '${field}' is not a world caption`);
  return parsed;
}

/** Drops every held-out row in place; returns the counts per file. */
export async function removeHeldOut(files: WorldDataFiles): Promise<SplitCounts[]> {
  const byCaption = (row: Record<string, unknown>, where: string) => heldOut(captionOf(row, 'caption', where));
  return [
    await filterLines(files.captions, byCaption),
    await filterLines(files.imageCaptions, byCaption),
    await filterLines(files.compositional, byCaption),
    await filterLines(files.edits, (row, where) => {
      const before = captionOf(row, 'input_caption', where);
      const after = applyInstruction(before, String(row.instruction));
      if (!after) throw new SplitError(`${where}: instruction '${String(row.instruction)}' is not a world edit`);
      return heldOut(before) || heldOut(after);
    }),
  ];
}
