// Prompts with words the tokenizer does not know: the words are named by the helper, by the tokenizer nodes as a
// node_warning event and in the run's warnings, and by the CLI's summary. Uses the shipped small word tokenizer
// (workflows/assets/tokenizer), whose vocabulary is the shapes world's few dozen words.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTokenizer } from '../../models/tokenizers/load.ts';
import { unknownWords, unknownWordsWarning } from '../../models/tokenizers/unknown-words.ts';
import { Executor } from '../../engine/execute.ts';
import { Registry } from '../../engine/registry.ts';
import { parseWorkflow } from '../../engine/format.ts';
import type { EngineEvent } from '../../engine/events.ts';
import { main } from '../../server/cli/main.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOKENIZER = path.join(root, 'workflows', 'assets', 'tokenizer');

test('unknownWords names each unknown word once, in order; <i> and known words are not named', async () => {
  const tok = await loadTokenizer(TOKENIZER);
  assert.deepEqual(unknownWords(tok, 'a red circle on the beach'), []);
  assert.deepEqual(unknownWords(tok, 'a purple dragon on a purple beach'), ['purple', 'dragon']);
  assert.deepEqual(unknownWords(tok, '<i> in the jungle', ['<i>']), []);
  assert.equal(unknownWordsWarning(tok, 'red', 'prompt'), undefined);
  assert.equal(unknownWordsWarning(tok, 'a zebra', 'prompt'), 'prompt: a word the tokenizer does not know, read as <unk>: "zebra"');
});

const workflow = (text: string) => ({
  format: 'kosmos-g/workflow',
  version: 1,
  nodes: [
    { id: 'tok', type: 'LoadTokenizer', widgets: { path: TOKENIZER } },
    { id: 'ids', type: 'Tokenize', widgets: { text }, inputs: { tokenizer: { node: 'tok', output: 'tokenizer' } } },
    { id: 'show', type: 'PreviewValue', inputs: { value: { node: 'ids', output: 'tokens' } } },
  ],
});

test('Tokenize: unknown words are a node_warning event and a run warning; known words give none', async () => {
  const registry = await Registry.load({ builtins: ['core', 'kosmos'] });
  const executor = new Executor(registry, { log: () => {} });
  const events: EngineEvent[] = [];
  const run = await executor.run(parseWorkflow(JSON.stringify(workflow('a blue star with wings')), 'test'), { onEvent: (e) => events.push(e) });
  assert.equal(run.status, 'ok', JSON.stringify(run.errors));
  const expected = 'text: 2 words the tokenizer does not know, read as <unk>: "with", "wings"';
  assert.deepEqual(run.warnings, [{ node: 'ids', message: expected }]);
  assert.deepEqual(events.filter((e) => e.type === 'node_warning').map((e) => [e.type, (e as { nodeId: string }).nodeId]), [['node_warning', 'ids']]);
  const clean = await executor.run(parseWorkflow(JSON.stringify(workflow('a blue star')), 'test'));
  assert.deepEqual(clean.warnings, []);
});

test('CLI: the run summary names the unknown words', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kg-unk-'));
  const saved = process.env.KOSMOS_G_BUILTINS;
  process.env.KOSMOS_G_BUILTINS = 'core,kosmos';
  try {
    const file = path.join(dir, 'tok.json');
    writeFileSync(file, JSON.stringify(workflow('a dragon on the beach')));
    let out = '';
    let err = '';
    const code = await main(['run', file, '--out', path.join(dir, 'out')], { stdout: (t) => void (out += t), stderr: (t) => void (err += t), tty: false });
    assert.equal(code, 0, err);
    assert.match(out, /^ok in /);
    assert.match(err, /^warning ids: text: a word the tokenizer does not know, read as <unk>: "dragon"$/m);
  } finally {
    if (saved === undefined) delete process.env.KOSMOS_G_BUILTINS;
    else process.env.KOSMOS_G_BUILTINS = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});
