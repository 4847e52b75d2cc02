// An edit prompt ("<i> make the circle green" with the scene's picture) means the edited scene. Stage 3 aligns the
// condition of subject prompts to the CLIP text of what they mean; edits get the same target — the caption of the
// edited picture — written into each edit row as "meaning" (models/data/datasets.ts reads it), so the MLLM learns to
// carry the input scene through the instruction rather than guess it from the diffusion loss alone. Pairs are
// captioned in reading order (left or upper entity first), so the target follows from the picture.

import { readLines } from '../models/data/lines.ts';
import { writeFileAtomic } from '../models/io/atomic.ts';
import { editedCaption, readingOrder } from '../models/world/heldout.ts';

export class EditMeaningError extends Error {
  readonly code = 'DEFAULT_DATA_ROW';
}

/** Adds "meaning" to every edit row of `edits` (in place, atomically); returns the number of rows. */
export async function addEditMeanings(edits: string): Promise<number> {
  const rows = readLines(edits).map(({ line, text }) => {
    const row = JSON.parse(text) as { input_caption: string; instruction: string; meaning?: string };
    const edited = editedCaption(row.input_caption, row.instruction);
    if (!edited) throw new EditMeaningError(`${edits}:${line}: '${row.instruction}' does not edit '${row.input_caption}'`);
    // In reading order: the prompt shows the scene, not which entity its caption happened to name first.
    return JSON.stringify({ ...row, meaning: readingOrder(edited) });
  });
  await writeFileAtomic(edits, rows.join('\n') + '\n');
  return rows.length;
}
