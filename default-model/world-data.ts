// The pipeline's world data: the scenes written in the training formats, the held-out triples removed, stage 1's
// subject captions derived, the colour-free compositional copies added and the edits given their edited captions.
// A manifest written last records what the folder holds, so a re-run of some stages (`--stages unet`) with the same
// scenes, seed and size reuses it instead of writing it again (~3 minutes).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../models/io/atomic.ts';
import { writeWorldData, type WorldDataFiles } from '../models/world/write.ts';
import { addColourFreeRows } from './colour-free.ts';
import { writeSubjectCaptions } from './subject-captions.ts';
import { addEditMeanings } from './edit-meanings.ts';
import { removeHeldOut, type SplitCounts } from './split-data.ts';

export interface WorldDataRequest {
  scenes: number;
  seed: number;
  size: number;
}

export interface PreparedWorldData {
  files: WorldDataFiles;
  /** Rows kept and held out per file. */
  split: SplitCounts[];
  /** Colour-free compositional rows added. */
  colourFree: number;
  /** Stage 1's subject captions (subject-captions.ts): the file and its rows. */
  subjectCaptions: { file: string; rows: number };
  /** True when an earlier run's data was reused. */
  reused: boolean;
}

const MANIFEST = 'prepared.json';

interface Manifest extends WorldDataRequest {
  format: 'kosmos-g/default-world-data';
  split: { file: string; kept: number; dropped: number }[];
  colourFree: number;
  /** Absent in folders written before subject captions: they are then derived and the manifest rewritten. */
  subjectCaptions?: number;
  /** Edit rows given the edited picture's caption (edit-meanings.ts); absent in older folders, as above. */
  editMeanings?: number;
}

const SUBJECT_CAPTIONS = 'subject-captions.jsonl';

function filesIn(dir: string): WorldDataFiles {
  const at = (name: string) => path.join(dir, name);
  return { dir, captions: at('captions.jsonl'), imageCaptions: at('image-captions.jsonl'), compositional: at('compositional.jsonl'), edits: at('edits.jsonl') };
}

function readManifest(dir: string, request: WorldDataRequest): Manifest | undefined {
  const file = path.join(dir, MANIFEST);
  if (!existsSync(file)) return undefined;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    const same = m.format === 'kosmos-g/default-world-data' && m.scenes === request.scenes && m.seed === request.seed && m.size === request.size;
    return same ? m : undefined;
  } catch {
    return undefined; // an unreadable manifest is an incomplete folder: write the data again
  }
}

export async function prepareWorldData(dir: string, request: WorldDataRequest): Promise<PreparedWorldData> {
  const files = filesIn(dir);
  const subjects = path.join(dir, SUBJECT_CAPTIONS);
  const earlier = readManifest(dir, request);
  if (earlier && Object.values(files).every((f) => existsSync(f))) {
    const split = earlier.split.map((s) => ({ ...s, file: path.join(dir, s.file) }));
    let rows = earlier.subjectCaptions;
    if (rows === undefined || !existsSync(subjects) || earlier.editMeanings === undefined) {
      rows = await writeSubjectCaptions(files.compositional, subjects);
      await writeManifest(dir, { ...earlier, subjectCaptions: rows, editMeanings: await addEditMeanings(files.edits) });
    }
    return { files, split, colourFree: earlier.colourFree, subjectCaptions: { file: subjects, rows }, reused: true };
  }
  const written = await writeWorldData(dir, { count: request.scenes, seed: request.seed, size: request.size });
  const split = await removeHeldOut(written);
  // Before the colour-free copies: subject captions need the colour words of the original rows.
  const subjectRows = await writeSubjectCaptions(written.compositional, subjects);
  const colourFree = await addColourFreeRows(written.compositional);
  const editMeanings = await addEditMeanings(written.edits);
  const manifest: Manifest = {
    format: 'kosmos-g/default-world-data',
    ...request,
    split: split.map((s) => ({ ...s, file: path.basename(s.file) })),
    colourFree,
    subjectCaptions: subjectRows,
    editMeanings,
  };
  await writeManifest(dir, manifest);
  return { files: written, split, colourFree, subjectCaptions: { file: subjects, rows: subjectRows }, reused: false };
}

async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}
