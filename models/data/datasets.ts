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
}
/** One InstructPix2Pix sample: the input image's caption, the edit instruction, and one or more (input, edited) pairs. */
export interface EditRow {
  line: number;
  inputCaption: string;
  instruction: string;
  pairs: { input: ImageRef; edited: ImageRef }[];
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

function finish<D extends Dataset>(d: D): D {
  d.report.kept = d.rows.length;
  if (d.rows.length === 0) {
    const why = d.report.skipped.slice(0, 3).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
    throw new DataError('DATA_EMPTY', `${d.report.source}: no usable rows${why ? ` (${why})` : ''}`);
  }
  return d;
}

/** Captions from JSONL (`{"caption": …}`, or `text`) or TSV (caption in the first column). */
export function readCaptions(file: string): CaptionDataset {
  const report = newReport(file);
  const rows: CaptionRow[] = [];
  const format = lineFormat(file);
  for (const { line, text } of readLines(file)) {
    if (format === 'jsonl') {
      const obj = parseJsonObject(text);
      if (typeof obj === 'string') { skip(report, line, obj); continue; }
      const caption = stringField(obj, 'caption') ?? stringField(obj, 'text');
      if (!caption) { skip(report, line, 'no "caption" string'); continue; }
      rows.push({ line, caption });
    } else {
      const caption = text.split('\t')[0]!.trim();
      if (!caption) { skip(report, line, 'empty caption'); continue; }
      rows.push({ line, caption });
    }
  }
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
  const rows: ImageCaptionRow[] = [];
  if (statSync(source).isDirectory()) {
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
  const baseDir = path.dirname(source);
  const format = lineFormat(source);
  for (const { line, text } of readLines(source)) {
    let caption: string | undefined;
    let cell: string | undefined;
    if (format === 'jsonl') {
      const obj = parseJsonObject(text);
      if (typeof obj === 'string') { skip(report, line, obj); continue; }
      caption = stringField(obj, 'caption');
      cell = stringField(obj, 'image');
    } else {
      [caption, cell] = text.split('\t');
    }
    if (!caption?.trim()) { skip(report, line, 'no caption'); continue; }
    if (!cell) { skip(report, line, 'no image'); continue; }
    const image = imageRef(cell, baseDir);
    if (typeof image === 'string') { skip(report, line, image); continue; }
    rows.push({ line, caption: caption.trim(), image });
  }
  return finish({ kind: 'image-captions', rows, report });
}

/**
 * The compositional format: JSONL `{"caption", "tags": [..] | "a,b", "image", "entities": [{"tag","crop","masked"}]}`
 * or the reference TSV `caption \t tags \t full_b64 \t obj1_crop \t obj1_masked \t …` (§1.10).
 */
export function readCompositional(file: string): CompositionalDataset {
  const report = newReport(file);
  const rows: CompositionalRow[] = [];
  const baseDir = path.dirname(file);
  const format = lineFormat(file);
  for (const { line, text } of readLines(file)) {
    let caption: string | undefined;
    let fullCell: string | undefined;
    const entityCells: { tag: string; crop: string; masked: string }[] = [];
    if (format === 'jsonl') {
      const obj = parseJsonObject(text);
      if (typeof obj === 'string') { skip(report, line, obj); continue; }
      caption = stringField(obj, 'caption');
      fullCell = stringField(obj, 'image');
      const ents = Array.isArray(obj.entities) ? obj.entities : [];
      let bad = '';
      for (const [i, e] of ents.entries()) {
        const ent = (e ?? {}) as Record<string, unknown>;
        const tag = stringField(ent, 'tag'), crop = stringField(ent, 'crop'), masked = stringField(ent, 'masked');
        if (!tag || !crop || !masked) { bad = `entity ${i} needs "tag", "crop" and "masked"`; break; }
        entityCells.push({ tag, crop, masked });
      }
      if (bad) { skip(report, line, bad); continue; }
    } else {
      const cols = text.split('\t');
      caption = cols[0];
      const tags = (cols[1] ?? '').split(',').map((t) => t.trim()).filter(Boolean);
      fullCell = cols[2];
      const objs = cols.slice(3);
      if (objs.length !== 2 * tags.length) {
        skip(report, line, `${tags.length} tags need ${2 * tags.length} crop columns, found ${objs.length}`);
        continue;
      }
      tags.forEach((tag, i) => entityCells.push({ tag, crop: objs[2 * i]!, masked: objs[2 * i + 1]! }));
    }
    if (!caption?.trim()) { skip(report, line, 'no caption'); continue; }
    if (!fullCell) { skip(report, line, 'no full image'); continue; }
    const image = imageRef(fullCell, baseDir);
    if (typeof image === 'string') { skip(report, line, `full image: ${image}`); continue; }
    const entities: EntityRef[] = [];
    let bad = '';
    for (const e of entityCells) {
      const crop = imageRef(e.crop, baseDir), masked = imageRef(e.masked, baseDir);
      if (typeof crop === 'string') { bad = `crop of "${e.tag}": ${crop}`; break; }
      if (typeof masked === 'string') { bad = `masked crop of "${e.tag}": ${masked}`; break; }
      entities.push({ tag: e.tag, crop, masked });
    }
    if (bad) { skip(report, line, bad); continue; }
    if (!entities.length) { skip(report, line, 'no entities'); continue; }
    rows.push({ line, caption: caption.trim(), image, entities });
  }
  return finish({ kind: 'compositional', rows, report });
}

/**
 * InstructPix2Pix triples: JSONL `{"input_caption", "instruction" | "edit", "input_image", "edited_image"}` or
 * the reference TSV `input_caption \t edit \t seed0_input \t seed0_edited \t …` (one pair chosen per use).
 */
export function readEditTriples(file: string): EditDataset {
  const report = newReport(file);
  const rows: EditRow[] = [];
  const baseDir = path.dirname(file);
  const format = lineFormat(file);
  for (const { line, text } of readLines(file)) {
    let inputCaption: string | undefined;
    let instruction: string | undefined;
    const cells: string[] = [];
    if (format === 'jsonl') {
      const obj = parseJsonObject(text);
      if (typeof obj === 'string') { skip(report, line, obj); continue; }
      inputCaption = stringField(obj, 'input_caption');
      instruction = stringField(obj, 'instruction') ?? stringField(obj, 'edit');
      cells.push(stringField(obj, 'input_image') ?? '', stringField(obj, 'edited_image') ?? '');
    } else {
      const cols = text.split('\t');
      [inputCaption, instruction] = cols;
      cells.push(...cols.slice(2));
    }
    if (!inputCaption?.trim()) { skip(report, line, 'no input caption'); continue; }
    if (!instruction?.trim()) { skip(report, line, 'no instruction'); continue; }
    if (cells.length < 2 || cells.length % 2 !== 0) { skip(report, line, 'needs (input, edited) image pairs'); continue; }
    const pairs: EditRow['pairs'] = [];
    let bad = '';
    for (let i = 0; i < cells.length; i += 2) {
      const input = imageRef(cells[i]!, baseDir), edited = imageRef(cells[i + 1]!, baseDir);
      if (typeof input === 'string') { bad = `input image: ${input}`; break; }
      if (typeof edited === 'string') { bad = `edited image: ${edited}`; break; }
      pairs.push({ input, edited });
    }
    if (bad) { skip(report, line, bad); continue; }
    rows.push({ line, inputCaption: inputCaption.trim(), instruction: instruction.trim(), pairs });
  }
  return finish({ kind: 'edit', rows, report });
}
