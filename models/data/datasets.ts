// Dataset readers. Each reads a whole index file (captions, paths or base64 cells) into rows; images are decoded
// only when a batch needs them. A row that cannot be used is skipped and recorded with its line number in the
// dataset's report; only an unreadable file or an empty result is an error.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataError } from './errors.ts';
import { imageRef, type ImageRef } from './images.ts';
import { lineFormat, parseJsonObject, readLines, stringField } from './lines.ts';
import { newReport, skip, type DataReport } from './report.ts';

export interface CaptionRow {
  line: number;
  caption: string;
}
export interface ImageCaptionRow extends CaptionRow {
  image: ImageRef;
}
export interface EntityRef {
  tag: string;
  crop: ImageRef;
  masked: ImageRef;
}
/** One KOSMOS-G compositional sample (§1.10): caption, entity tags, the full image, per entity a crop and a masked crop. */
export interface CompositionalRow extends CaptionRow {
  image: ImageRef;
  entities: EntityRef[];
  /**
   * What the caption means once its images are read, when the caption leaves something to them (a colour-free row,
   * "a circle left of a square …", means "a red circle left of a blue square …"): the text an aligned condition of
   * the prompt should equal. Absent: the caption itself.
   */
  meaning?: string;
}
/** One InstructPix2Pix sample: the input image's caption, the edit instruction, and one or more (input, edited) pairs. */
export interface EditRow {
  line: number;
  inputCaption: string;
  instruction: string;
  pairs: { input: ImageRef; edited: ImageRef }[];
  /** The edited picture's caption, where the data has one (JSONL "meaning"): an edit prompt's alignment target. */
  meaning?: string;
}

interface DatasetBase<K extends string, R> {
  kind: K;
  rows: R[];
  report: DataReport;
}
export type CaptionDataset = DatasetBase<'captions', CaptionRow>;
export type ImageCaptionDataset = DatasetBase<'image-captions', ImageCaptionRow>;
export type CompositionalDataset = DatasetBase<'compositional', CompositionalRow>;
export type EditDataset = DatasetBase<'edit', EditRow>;
export type Dataset = CaptionDataset | ImageCaptionDataset | CompositionalDataset | EditDataset;

/**
 * The memory a dataset's rows hold, for the output cache: their strings (captions, paths and base64 image cells, which
 * dominate in the reference TSVs) at two bytes a character, plus a little per row.
 */
export function datasetByteSize(d: Dataset): number {
  const chars = (v: unknown): number => {
    if (typeof v === 'string') return v.length;
    if (typeof v !== 'object' || v === null) return 0;
    return Object.values(v).reduce<number>((n, x) => n + chars(x), 0);
  };
  return (d.rows as unknown[]).reduce<number>((n, row) => n + 64 + 2 * chars(row), 0);
}

function finish<D extends Dataset>(d: D): D {
  d.report.kept = d.rows.length;
  if (d.rows.length === 0) {
    const why = d.report.skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
    throw new DataError('DATA_EMPTY', `${d.report.source}: no usable rows${why ? ` (${why})` : ''}`);
  }
  return d;
}

/** One non-blank line of a dataset file: a JSONL object or TSV columns. */
type LineCells = { json: Record<string, unknown> } | { tsv: string[] };

/**
 * The row loop every line-oriented reader shares: each non-blank line is parsed (JSONL or TSV, by extension) and
 * handed to `parse`, which returns the row or the reason it is skipped. Image paths are relative to the file.
 */
function readRows<R extends object>(file: string, report: DataReport, parse: (cells: LineCells, line: number, baseDir: string) => R | string): R[] {
  const rows: R[] = [];
  const baseDir = path.dirname(file);
  const format = lineFormat(file);
  for (const { line, text } of readLines(file)) {
    let cells: LineCells;
    if (format === 'jsonl') {
      const obj = parseJsonObject(text);
      if (typeof obj === 'string') { skip(report, line, obj); continue; }
      cells = { json: obj };
    } else {
      cells = { tsv: text.split('\t') };
    }
    const row = parse(cells, line, baseDir);
    if (typeof row === 'string') skip(report, line, row);
    else rows.push(row);
  }
  return rows;
}

/** Captions from JSONL (`{"caption": …}`, or `text`) or TSV (caption in the first column). */
export function readCaptions(file: string): CaptionDataset {
  const report = newReport(file);
  const rows = readRows<CaptionRow>(file, report, (cells, line) => {
    if ('json' in cells) {
      const caption = stringField(cells.json, 'caption') ?? stringField(cells.json, 'text');
      return caption ? { line, caption } : 'no "caption" string';
    }
    const caption = cells.tsv[0]!.trim();
    return caption ? { line, caption } : 'empty caption';
  });
  return finish({ kind: 'captions', rows, report });
}

const IMAGE_EXT = ['.png', '.jpg', '.jpeg', '.webp'];

/**
 * Image–caption pairs from a folder (`name.png` + `name.txt`), JSONL (`{"image": path, "caption": …}`, paths
 * relative to the file) or TSV (`caption \t image`, the image a path or base64).
 */
export function readImageCaptions(source: string): ImageCaptionDataset {
  if (!existsSync(source)) throw new DataError('DATA_NOT_FOUND', `${source}: no such file or folder`);
  const report = newReport(source);
  if (statSync(source).isDirectory()) {
    const rows: ImageCaptionRow[] = [];
    const names = readdirSync(source).filter((n) => IMAGE_EXT.includes(path.extname(n).toLowerCase())).sort();
    names.forEach((name, i) => {
      const txt = path.join(source, name.slice(0, -path.extname(name).length) + '.txt');
      if (!existsSync(txt)) { skip(report, i + 1, `${name}: no caption file ${path.basename(txt)}`); return; }
      const lines = readLines(txt);
      const caption = lines.length ? lines[0]!.text.trim() : '';
      if (!caption) { skip(report, i + 1, `${name}: empty caption`); return; }
      rows.push({ line: i + 1, caption, image: { path: path.join(source, name) } });
    });
    return finish({ kind: 'image-captions', rows, report });
  }
  const rows = readRows<ImageCaptionRow>(source, report, (cells, line, baseDir) => {
    const [caption, cell] = 'json' in cells ? [stringField(cells.json, 'caption'), stringField(cells.json, 'image')] : cells.tsv;
    if (!caption?.trim()) return 'no caption';
    if (!cell) return 'no image';
    const image = imageRef(cell, baseDir);
    return typeof image === 'string' ? image : { line, caption: caption.trim(), image };
  });
  return finish({ kind: 'image-captions', rows, report });
}

/**
 * The compositional format: JSONL `{"caption", "tags": [..] | "a,b", "image", "entities": [{"tag","crop","masked"}]}`
 * (+ an optional `"meaning"`: the caption with what its images show spelled out)
 * or the reference TSV `caption \t tags \t full_b64 \t obj1_crop \t obj1_masked \t …` (§1.10).
 */
export function readCompositional(file: string): CompositionalDataset {
  const report = newReport(file);
  const rows = readRows<CompositionalRow>(file, report, (cells, line, baseDir) => {
    let caption: string | undefined;
    let meaning: string | undefined;
    let fullCell: string | undefined;
    const entityCells: { tag: string; crop: string; masked: string }[] = [];
    if ('json' in cells) {
      caption = stringField(cells.json, 'caption');
      meaning = stringField(cells.json, 'meaning')?.trim() || undefined;
      fullCell = stringField(cells.json, 'image');
      const ents = Array.isArray(cells.json.entities) ? cells.json.entities : [];
      for (const [i, e] of ents.entries()) {
        const ent = (e ?? {}) as Record<string, unknown>;
        const tag = stringField(ent, 'tag'), crop = stringField(ent, 'crop'), masked = stringField(ent, 'masked');
        if (!tag || !crop || !masked) return `entity ${i} needs "tag", "crop" and "masked"`;
        entityCells.push({ tag, crop, masked });
      }
    } else {
      const cols = cells.tsv;
      caption = cols[0];
      const tags = (cols[1] ?? '').split(',').map((t) => t.trim()).filter(Boolean);
      fullCell = cols[2];
      const objs = cols.slice(3);
      if (objs.length !== 2 * tags.length) return `${tags.length} tags need ${2 * tags.length} crop columns, found ${objs.length}`;
      tags.forEach((tag, i) => entityCells.push({ tag, crop: objs[2 * i]!, masked: objs[2 * i + 1]! }));
    }
    if (!caption?.trim()) return 'no caption';
    if (!fullCell) return 'no full image';
    const image = imageRef(fullCell, baseDir);
    if (typeof image === 'string') return `full image: ${image}`;
    const entities: EntityRef[] = [];
    for (const e of entityCells) {
      const crop = imageRef(e.crop, baseDir), masked = imageRef(e.masked, baseDir);
      if (typeof crop === 'string') return `crop of "${e.tag}": ${crop}`;
      if (typeof masked === 'string') return `masked crop of "${e.tag}": ${masked}`;
      entities.push({ tag: e.tag, crop, masked });
    }
    if (!entities.length) return 'no entities';
    return { line, caption: caption.trim(), image, entities, ...(meaning ? { meaning } : {}) };
  });
  return finish({ kind: 'compositional', rows, report });
}

/**
 * InstructPix2Pix triples: JSONL `{"input_caption", "instruction" | "edit", "input_image", "edited_image"}` (+ an
 * optional `"meaning"`: the caption of the edited picture) or
 * the reference TSV `input_caption \t edit \t seed0_input \t seed0_edited \t …` (one pair chosen per use).
 */
export function readEditTriples(file: string): EditDataset {
  const report = newReport(file);
  const rows = readRows<EditRow>(file, report, (cells, line, baseDir) => {
    const [inputCaption, instruction, images] =
      'json' in cells
        ? [
            stringField(cells.json, 'input_caption'),
            stringField(cells.json, 'instruction') ?? stringField(cells.json, 'edit'),
            [stringField(cells.json, 'input_image') ?? '', stringField(cells.json, 'edited_image') ?? ''],
          ]
        : [cells.tsv[0], cells.tsv[1], cells.tsv.slice(2)];
    if (!inputCaption?.trim()) return 'no input caption';
    if (!instruction?.trim()) return 'no instruction';
    if (images.length < 2 || images.length % 2 !== 0) return 'needs (input, edited) image pairs';
    const pairs: EditRow['pairs'] = [];
    for (let i = 0; i < images.length; i += 2) {
      const input = imageRef(images[i]!, baseDir), edited = imageRef(images[i + 1]!, baseDir);
      if (typeof input === 'string') return `input image: ${input}`;
      if (typeof edited === 'string') return `edited image: ${edited}`;
      pairs.push({ input, edited });
    }
    const meaning = 'json' in cells ? stringField(cells.json, 'meaning')?.trim() : undefined;
    return { line, inputCaption: inputCaption.trim(), instruction: instruction.trim(), pairs, ...(meaning ? { meaning } : {}) };
  });
  return finish({ kind: 'edit', rows, report });
}
