// The pipeline's world data: the scenes written in the training formats, the held-out triples removed and the
// colour-free compositional copies added. A manifest written last records what the folder holds, so a re-run of some
// stages (`--stages unet`) with the same scenes, seed and size reuses it instead of writing it again (~3 minutes).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../models/io/atomic.ts';
import { writeWorldData, type WorldDataFiles } from '../models/world/write.ts';
import { addColourFreeRows } from './colour-free.ts';
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
  /** True when an earlier run's data was reused. */
  reused: boolean;
}

const MANIFEST = 'prepared.json';

interface Manifest extends WorldDataRequest {
  format: 'kosmos-g/default-world-data';
  split: { file: string; kept: number; dropped: number }[];
  colourFree: number;
}

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
  const earlier = readManifest(dir, request);
  if (earlier && Object.values(files).every((f) => existsSync(f))) {
    const split = earlier.split.map((s) => ({ ...s, file: path.join(dir, s.file) }));
    return { files, split, colourFree: earlier.colourFree, reused: true };
  }
  const written = await writeWorldData(dir, { count: request.scenes, seed: request.seed, size: request.size });
  const split = await removeHeldOut(written);
  const colourFree = await addColourFreeRows(written.compositional);
  const manifest: Manifest = { format: 'kosmos-g/default-world-data', ...request, split: split.map((s) => ({ ...s, file: path.basename(s.file) })), colourFree };
  await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return { files: written, split, colourFree, reused: false };
}
