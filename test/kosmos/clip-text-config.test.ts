// LoadCLIPText with config 'from-file' reads text_encoder/config.json before inferring anything, and says on the
// node where its config came from. A 64-wide, 4-head encoder (heads not 64 wide, GELU, eps 1e-6) is saved with its
// config.json and must run exactly as the same model built directly; without the config.json the shapes alone
// give 1 head, and the node says it guessed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pack from '../../nodes/kosmos/index.ts';
import type { AnyNodeDefinition, NodeContext } from '../../engine/node-def.ts';
import { buildWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { CLIPTextModel } from '../../models/clip/text-model.ts';
import type { CLIPTextConfig } from '../../models/clip/text-config.ts';
import { Rng } from '../../models/ops/random.ts';
import { saveSafetensors } from '../../models/io/safetensors.ts';
import { readClipTextConfig } from '../../models/loaders/text-encoder-config.ts';

const logged: string[] = [];
const ctx: NodeContext = {
  jobId: 'test',
  nodeId: '1',
  signal: new AbortController().signal,
  log: { info: (m) => logged.push(`info: ${m}`), warn: (m) => logged.push(`warn: ${m}`), error: (m) => logged.push(`error: ${m}`) },
  progress() {},
  throwIfCancelled() {},
  scratchDir: async () => tmpdir(),
  outputDir: async () => tmpdir(),
  addOutputFile() {},
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const run = async (type: string, args: Record<string, unknown>): Promise<any> => {
  const def = pack.nodes.find((n) => n.type === type)! as AnyNodeDefinition;
  const widgets = Object.fromEntries(Object.entries(def.widgets).map(([k, w]) => [k, 'default' in w ? w.default : undefined]));
  return def.execute({ ...widgets, ...args } as never, ctx);
};

const tokenizer = buildWordTokenizer(['a red car in the jungle'], { kind: 'word-clip' });

test('a 64-wide, 4-head text encoder loads with its config.json and matches the model built directly', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kosmos-clip-config-'));
  try {
    const config: CLIPTextConfig = { vocabSize: tokenizer.vocabSize, hiddenSize: 64, intermediateSize: 128, layers: 2, heads: 4, maxPositions: 77, eps: 1e-6, hiddenAct: 'gelu' };
    const original = new CLIPTextModel(config, new Rng(5));
    mkdirSync(path.join(dir, 'text_encoder'));
    await saveSafetensors(path.join(dir, 'text_encoder', 'model.safetensors'), original.stateDict());
    const json = {
      architectures: ['CLIPTextModel'],
      model_type: 'clip_text_model',
      vocab_size: tokenizer.vocabSize,
      hidden_size: 64,
      intermediate_size: 128,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      max_position_embeddings: 77,
      layer_norm_eps: 1e-6,
      hidden_act: 'gelu',
      projection_dim: 512,
      torch_dtype: 'float32',
      attention_dropout: 0,
      bos_token_id: 0,
      transformers_version: '4.25.1',
    };
    writeFileSync(path.join(dir, 'text_encoder', 'config.json'), JSON.stringify(json));

    logged.length = 0;
    const { clip_text } = await run('LoadCLIPText', { path: dir, config: 'from-file', backend: 'tfjs' });
    assert.equal(clip_text.model.config.heads, 4);
    assert.equal(clip_text.model.config.eps, 1e-6);
    assert.equal(clip_text.model.config.hiddenAct, 'gelu');
    assert.ok(logged.some((l) => /info: LoadCLIPText: config read from .*text_encoder\/config\.json/.test(l)), logged.join('\n'));
    assert.ok(!logged.some((l) => l.startsWith('warn')), logged.join('\n'));
    const { tokens } = await run('Tokenize', { tokenizer, text: 'a red car' });
    const { conditioning } = await run('CLIPTextEncode', { clip_text, tokens });
    const { conditioning: want } = await run('CLIPTextEncode', { clip_text: { model: original, backend: 'tfjs' }, tokens });
    assert.deepEqual([...conditioning.cond.data], [...want.cond.data]);

    // Without the config.json the shapes alone are used: 1 head (64 wide), quick-GELU; the node says so and the
    // output differs.
    unlinkSync(path.join(dir, 'text_encoder', 'config.json'));
    logged.length = 0;
    const { clip_text: guessed } = await run('LoadCLIPText', { path: dir, config: 'from-file', backend: 'tfjs' });
    assert.equal(guessed.model.config.heads, 1);
    assert.ok(logged.some((l) => /inferred from the tensor shapes .*1 heads \(assumed 64 wide\)/.test(l)), logged.join('\n'));
    const { conditioning: off } = await run('CLIPTextEncode', { clip_text: guessed, tokens });
    assert.notDeepEqual([...off.cond.data], [...want.cond.data]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('text-encoder config reader: defaults noted, unknown keys reported, bad values coded', () => {
  const r = readClipTextConfig({ hidden_size: 64, num_attention_heads: 4, hidden_act: 'gelu_new', fancy_option: true });
  assert.equal(r.config.hiddenAct, 'gelu_tanh');
  assert.ok(r.inferred.some((n) => /vocab_size absent: 49408/.test(n)));
  assert.deepEqual(r.ignored, ['unknown key "fancy_option" is ignored']);
  assert.throws(() => readClipTextConfig({ hidden_act: 'relu' }), { code: 'BAD_MODEL_CONFIG' });
  assert.throws(() => readClipTextConfig({ hidden_size: 64, num_attention_heads: 5 }), { code: 'BAD_MODEL_CONFIG' });
});
