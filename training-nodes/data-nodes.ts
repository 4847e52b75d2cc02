// Dataset and batch nodes. Loaders read an index file once (cached by the executor); NextBatch is per-step: it
// picks this step's rows from a seeded shuffle, so the data cursor is the step and a resumed run sees the same data.
import { defineNode } from '../engine/node-def.ts';
import { datasetByteSize, readCaptions, readCompositional, readEditTriples, readImageCaptions, type Dataset } from '../models/data/datasets.ts';
import { batchIndices } from '../models/data/batching.ts';
import { describeReport } from '../models/data/report.ts';
import type { DatasetValue } from './types.ts';

function datasetValue(dataset: Dataset, log: { info(m: string): void; warn(m: string): void }): { dataset: DatasetValue } {
  const text = describeReport(dataset.report);
  if (dataset.report.skipped.length) log.warn(text);
  else log.info(text);
  const bytes = datasetByteSize(dataset);
  return { dataset: { dataset, byteSize: () => bytes } };
}

const source = (extensions: readonly string[], description: string) =>
  ({ kind: 'PATH', default: '', mode: 'read', extensions, description }) as const;

export const LoadCaptions = defineNode({
  type: 'LoadCaptions',
  category: 'training/data',
  description: 'Caption text from JSONL ({"caption": …}) or TSV (caption in the first column). Bad rows are skipped and counted.',
  inputs: {},
  widgets: { path: source(['.jsonl', '.json', '.tsv', '.txt'], 'caption file') },
  outputs: { dataset: { type: 'DATASET' } },
  execute: ({ path }, ctx) => datasetValue(readCaptions(path), ctx.log),
});

export const LoadImageCaptions = defineNode({
  type: 'LoadImageCaptions',
  category: 'training/data',
  description: 'Image–caption pairs: a folder of image + .txt files, JSONL {"image", "caption"} or TSV caption\\timage.',
  inputs: {},
  widgets: { path: source([], 'folder, .jsonl or .tsv') },
  outputs: { dataset: { type: 'DATASET' } },
  execute: ({ path }, ctx) => datasetValue(readImageCaptions(path), ctx.log),
});

export const LoadCompositional = defineNode({
  type: 'LoadCompositional',
  category: 'training/data',
  description:
    'KOSMOS-G compositional data: caption, entity tags, full image, per entity a crop and a masked crop (JSONL with paths, or the reference TSV with base64 PNG columns).',
  inputs: {},
  widgets: { path: source(['.jsonl', '.tsv'], 'compositional index') },
  outputs: { dataset: { type: 'DATASET' } },
  execute: ({ path }, ctx) => datasetValue(readCompositional(path), ctx.log),
});

export const LoadEditTriples = defineNode({
  type: 'LoadEditTriples',
  category: 'training/data',
  description: 'InstructPix2Pix edit triples: input caption, instruction, input image, edited image (JSONL or the reference TSV).',
  inputs: {},
  widgets: { path: source(['.jsonl', '.tsv'], 'edit index') },
  outputs: { dataset: { type: 'DATASET' } },
  execute: ({ path }, ctx) => datasetValue(readEditTriples(path), ctx.log),
});

export const NextBatch = defineNode({
  type: 'NextBatch',
  category: 'training/data',
  description: "This training step's rows: a seeded shuffle per epoch, batch_size rows per step (re-run every step).",
  inputs: { dataset: { type: 'DATASET' } },
  widgets: {
    batch_size: { kind: 'INT', default: 4, min: 1, max: 4096 },
    seed: { kind: 'SEED', default: 0, description: 'shuffle seed' },
    shuffle: { kind: 'BOOLEAN', default: true },
  },
  outputs: { batch: { type: 'BATCH' } },
  perStep: true,
  execute: ({ dataset, batch_size, seed, shuffle }, ctx) => {
    // Outside a training loop (a preview run) this is step 0.
    const step = ctx.step ?? { step: 0, seed };
    const { indices, epoch } = batchIndices(dataset.dataset.rows.length, batch_size, step.step, seed, shuffle);
    return { batch: { dataset: dataset.dataset, indices, step: step.step, seed: step.seed, epoch } };
  },
});
