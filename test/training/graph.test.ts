// Training as a graph, through the real executor: LoadCaptions → NextBatch (per step) → BuildSequences → LMLoss →
// TrainLoop(mllm). Model and tokenizer come from a test pack that builds the real small MLLM and a word tokenizer.
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Registry, Executor, definePack, defineNode, type Workflow, type EngineEvent } from '../../engine/index.ts';
import trainingPack from '../../training-nodes/index.ts';
import { buildWordTokenizer } from '../../models/tokenizers/word-tokenizer.ts';
import { MLLM } from '../../models/mllm/mllm.ts';
import { mllmSmall } from '../../models/mllm/config.ts';
import { Rng } from '../../models/ops/random.ts';
import { CheckpointStore } from '../../models/training/checkpoint.ts';
import { providerInstalled } from '../../models/backends/onnx/session.ts';
import { tempDir } from './fixtures.ts';

const CAPTIONS = ['a red cube on a table', 'a blue ball under a chair', 'a green cone near a red cube', 'two blue balls', 'a chair and a table'];

const testPack = definePack('training-test', [
  defineNode({
    type: 'TestWordTokenizer', category: 'test', description: 'word tokenizer over the test captions',
    inputs: {}, widgets: {}, outputs: { tokenizer: { type: 'TOKENIZER' } },
    execute: () => ({ tokenizer: buildWordTokenizer(CAPTIONS) }),
  }),
  defineNode({
    type: 'TestMLLM', category: 'test', description: 'a small random MLLM',
    inputs: { tokenizer: { type: 'TOKENIZER' } }, widgets: { seed: { kind: 'SEED', default: 0 } }, outputs: { mllm: { type: 'MLLM' } },
    execute: ({ tokenizer, seed }) => {
      const vocab = (tokenizer as { vocabSize: number }).vocabSize;
      return { mllm: { model: new MLLM({ ...mllmSmall(vocab), embedDim: 32, ffnDim: 64, layers: 1 }, new Rng(seed)), backend: 'tfjs', source: 'test', byteSize: () => 0 } };
    },
  }),
]);

function workflow(data: string, ckpt: string, widgets: Record<string, number | string | boolean>): Workflow {
  return {
    format: 'kosmos-g/workflow',
    version: 1,
    nodes: [
      { id: 'tok', type: 'TestWordTokenizer' },
      { id: 'mllm', type: 'TestMLLM', widgets: { seed: 3 }, inputs: { tokenizer: { node: 'tok', output: 'tokenizer' } } },
      { id: 'data', type: 'LoadCaptions', widgets: { path: data } },
      { id: 'batch', type: 'NextBatch', widgets: { batch_size: 2, seed: 1 }, inputs: { dataset: { node: 'data', output: 'dataset' } } },
      { id: 'seq', type: 'BuildSequences', widgets: { mode: 'caption-lm' }, inputs: { batch: { node: 'batch', output: 'batch' }, tokenizer: { node: 'tok', output: 'tokenizer' } } },
      { id: 'loss', type: 'LMLoss', inputs: { mllm: { node: 'mllm', output: 'mllm' }, sequences: { node: 'seq', output: 'sequences' } } },
      {
        id: 'train', type: 'TrainLoop',
        widgets: { steps: 24, lr: 0.01, warmup: 2, decay: 'linear', clip: 1, seed: 7, checkpoint: ckpt, checkpoint_every: 4, ...widgets },
        inputs: { loss: { node: 'loss', output: 'loss' }, mllm: { node: 'mllm', output: 'mllm' } },
      },
    ],
  };
}

async function setup() {
  const registry = new Registry();
  registry.add(trainingPack);
  registry.add(testPack);
  const dir = tempDir();
  const data = path.join(dir, 'captions.jsonl');
  writeFileSync(data, [...CAPTIONS.map((c) => JSON.stringify({ caption: c })), 'not json'].join('\n'));
  return { executor: new Executor(registry, { log: () => {} }), dir, data };
}

async function run(executor: Executor, wf: Workflow, dir: string) {
  const metrics: Record<string, number>[] = [];
  const result = await executor.run(wf, {
    outputDir: path.join(dir, 'out'),
    onEvent: (e: EngineEvent) => { if (e.type === 'node_progress' && e.metrics) metrics.push(e.metrics); },
  });
  return { result, metrics };
}

test('a stage-1 training graph lowers the LM loss, streams metrics and checkpoints under the reference keys', async () => {
  const { executor, dir, data } = await setup();
  const ckpt = path.join(dir, 'ckpt');
  const { result, metrics } = await run(executor, workflow(data, ckpt, {}), dir);
  assert.equal(result.status, 'ok', JSON.stringify(result.errors));
  assert.equal(metrics.length, 24);
  for (const m of metrics) for (const k of ['loss', 'lr', 'grad_norm', 'steps_per_s']) assert.ok(Number.isFinite(m[k]), k);
  const first = (metrics[0]!.loss! + metrics[1]!.loss!) / 2, last = (metrics[22]!.loss! + metrics[23]!.loss!) / 2;
  assert.ok(last < 0.7 * first, `loss ${first} → ${last}`);
  const ck = (await CheckpointStore.latest(ckpt))!;
  assert.equal(ck.state.step, 24);
  assert.ok([...ck.weights.keys()].every((k) => k.startsWith('gpt_model.decoder.')));
  assert.ok(ck.weights.has('gpt_model.decoder.embed_tokens.weight'));
  assert.ok(existsSync(path.join(ck.dir, 'optimizer.safetensors')));
});

test('the graph run resumed from its checkpoint repeats the uninterrupted losses', async () => {
  const a = await setup();
  const whole = await run(a.executor, workflow(a.data, path.join(a.dir, 'w'), { steps: 8 }), a.dir);
  assert.equal(whole.result.status, 'ok', JSON.stringify(whole.result.errors));

  const b = await setup();
  const ckpt = path.join(b.dir, 'ckpt');
  // Run 8 steps but cancel after the 4th step's checkpoint: the job is "killed" there.
  const ac = new AbortController();
  let seen = 0;
  const killed = await b.executor.run(workflow(b.data, ckpt, { steps: 8, checkpoint_every: 4 }), {
    outputDir: path.join(b.dir, 'out1'), signal: ac.signal,
    onEvent: (e) => { if (e.type === 'node_progress' && e.metrics && ++seen === 5) ac.abort(); },
  });
  assert.notEqual(killed.status, 'ok');
  assert.equal((await CheckpointStore.latest(ckpt))!.state.step, 4);

  const c = await setup(); // a fresh process: new executor, new (differently cached) models
  const resumed = await run(c.executor, workflow(b.data, ckpt, { steps: 8, resume: true }), c.dir);
  assert.equal(resumed.result.status, 'ok', JSON.stringify(resumed.result.errors));
  assert.equal(resumed.metrics.length, 4);
  assert.deepEqual(resumed.metrics.map((m) => m.loss), whole.metrics.slice(4).map((m) => m.loss));
});

test('a run checkpointed on ONNX Runtime resumes on tfjs (and the other way) within float tolerance', async () => {
  const a = await setup();
  const whole = await run(a.executor, workflow(a.data, path.join(a.dir, 'w'), { steps: 8, backend: 'onnx' }), a.dir);
  assert.equal(whole.result.status, 'ok', JSON.stringify(whole.result.errors));
  const tfjsWhole = await run(a.executor, workflow(a.data, path.join(a.dir, 'wt'), { steps: 8, backend: 'tfjs' }), a.dir);
  for (const [from, to, reference] of [['onnx', 'tfjs', whole], ['tfjs', 'onnx', tfjsWhole]] as const) {
    const b = await setup();
    const ckpt = path.join(b.dir, 'ckpt');
    // Killed after the 4th step's checkpoint on one backend …
    const ac = new AbortController();
    let seen = 0;
    const killed = await b.executor.run(workflow(b.data, ckpt, { steps: 8, checkpoint_every: 4, backend: from }), {
      outputDir: path.join(b.dir, 'out1'), signal: ac.signal,
      onEvent: (e) => { if (e.type === 'node_progress' && e.metrics && ++seen === 5) ac.abort(); },
    });
    assert.notEqual(killed.status, 'ok');
    // … and resumed on the other.
    const c = await setup();
    const resumed = await run(c.executor, workflow(b.data, ckpt, { steps: 8, resume: true, backend: to }), c.dir);
    assert.equal(resumed.result.status, 'ok', JSON.stringify(resumed.result.errors));
    assert.equal(resumed.metrics.length, 4);
    resumed.metrics.forEach((m, i) => {
      const want = reference.metrics[4 + i]!.loss!;
      assert.ok(Math.abs(m.loss! - want) <= 1e-4 * Math.abs(want), `${from} → ${to}, step ${5 + i}: ${m.loss} vs ${want}`);
    });
  }
});

const cudaHere = providerInstalled('cuda');

test('a GPU backend where none can run fails the node with EP_UNAVAILABLE naming what is missing, before any step', { skip: cudaHere && 'the CUDA provider files are installed here' }, async () => {
  const { executor, dir, data } = await setup();
  const { result, metrics } = await run(executor, workflow(data, path.join(dir, 'g'), { steps: 2, backend: 'onnx-cuda' }), dir);
  assert.equal(result.status, 'error');
  assert.equal(metrics.length, 0);
  const issue = result.errors.find((e) => e.node === 'train');
  assert.ok(issue, JSON.stringify(result.errors));
  assert.equal(issue.code, 'EP_UNAVAILABLE');
  assert.match(issue.message, /cuda/);
});
