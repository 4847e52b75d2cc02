// Writes the tiny fixed training set the train-*.json workflows use (workflows/assets/data/world): synthetic-world
// scenes (models/world) in every training format. Deterministic: the same seed gives the same files.
//   npx tsx bench/training/make-data.ts [count=12] [size=32]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeWorldData } from '../../models/world/write.ts';
import { readFileSync, mkdirSync } from 'node:fs';
import { buildWordTokenizer, saveWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const count = Number(process.argv[2] ?? 12);
const size = Number(process.argv[3] ?? 32);
const files = await writeWorldData(path.join(root, 'workflows', 'assets', 'data', 'world'), { count, seed: 2023, size });
console.log(`wrote ${count} scenes (${size}×${size}) to ${path.relative(root, files.dir)}`);

// Word tokenizers over the set's own text (MLLM layout and CLIP layout), so no caption word maps to <unk>.
const texts = [
  ...readFileSync(files.captions, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { caption: string }).caption),
  ...readFileSync(files.edits, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { instruction: string }).instruction),
];
for (const [kind, name] of [['word', 'tokenizer'], ['word-clip', 'clip-tokenizer']] as const) {
  mkdirSync(path.join(files.dir, name), { recursive: true });
  saveWordTokenizer(path.join(files.dir, name, 'tokenizer.json'), buildWordTokenizer(texts, { kind }));
}
console.log('wrote tokenizer/ and clip-tokenizer/');
