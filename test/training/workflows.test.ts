// The shipped training workflows (workflows/train-*.json) with every built-in pack: each validates, and runs three
// steps on the tiny synthetic-world set, streaming finite losses, checkpointing and saving its trained weights.
// With KOSMOS_G_TRAIN_LONG=1 each runs 30 steps and must end with a lower loss than it started (minutes on 2 cores).
import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry, Executor, parseWorkflow } from '../../engine/index.ts';
import { CheckpointStore } from '../../models/training/checkpoint.ts';
import { parseSafetensors } from '../../models/io/safetensors.ts';
import { tempDir } from './fixtures.ts';
import { tf } from './tf.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const WORKFLOWS = ['train-stage1.json', 'train-stage2-aligner.json', 'train-stage3-instruct.json', 'train-clip.json', 'train-vae.json', 'train-unet-t2i.json'];
const LONG = process.env.KOSMOS_G_TRAIN_LONG === '1';
const KEY_PREFIX: Record<string, string> = {
  'train-stage1.json': 'gpt_model.decoder.', 'train-stage2-aligner.json': 'aligner.', 'train-clip.json': 'img_model.visual.',
  'train-vae.json': 'encoder.', 'train-unet-t2i.json': 'conv_in.', 'train-stage3-instruct.json': 'img_connector.',
};

let executor: Promise<Executor> | undefined;
const getExecutor = () => (executor ??= Registry.load({ env: false }).then((r) => {
  assert.deepEqual(r.loadErrors, []);
  return new Executor(r, { baseDir: root, log: () => {} });
}));

for (const name of WORKFLOWS) {
  test(`${name} validates and trains`, async () => {
    const ex = await getExecutor();
    const wf = parseWorkflow(readFileSync(path.join(root, 'workflows', name), 'utf8'));
    assert.deepEqual(ex.validate(wf), []);
    const dir = tempDir();
    const steps = LONG ? 30 : 3;
    const losses: number[] = [];
    const tensors: number[] = [];
    const cwd = process.cwd();
    process.chdir(root); // the workflows name their data relative to the repository root
    try {
      const r = await ex.run(wf, {
        outputDir: path.join(dir, 'out'),
        overrides: { 'train.steps': steps, 'train.checkpoint': path.join(dir, 'ckpt'), 'save.path': path.join(dir, 'weights.safetensors') },
        onEvent: (e) => {
          if (e.type === 'node_progress' && e.metrics?.loss !== undefined) {
            losses.push(e.metrics.loss);
            tensors.push(tf.memory().numTensors);
          }
        },
      });
      assert.equal(r.status, 'ok', JSON.stringify(r.errors));
    } finally {
      process.chdir(cwd);
    }
    assert.equal(losses.length, steps);
    assert.ok(losses.every(Number.isFinite), `${losses}`);
    // No tensor leaks from one step to the next (the first step creates the parameters' variables).
    assert.equal(new Set(tensors.slice(1)).size, 1, `live tensors after each step: ${tensors}`);
    assert.equal((await CheckpointStore.latest(path.join(dir, 'ckpt')))!.state.step, steps);
    const saved = parseSafetensors(readFileSync(path.join(dir, 'weights.safetensors')), name).tensors;
    assert.ok([...saved.keys()].some((k) => k.startsWith(KEY_PREFIX[name]!)), `saved keys of ${name}`);
    assert.ok(existsSync(path.join(dir, 'ckpt', 'latest.json')));
    if (LONG) {
      const head = losses.slice(0, 5).reduce((a, b) => a + b) / 5, tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
      console.log(`# ${name}: mean loss of the first 5 steps ${head.toFixed(4)}, of the last 5 ${tail.toFixed(4)}`);
      // Stage 3 trains only the conditioning path of a random frozen U-Net: its loss is noise-dominated at this size.
      if (name === 'train-stage3-instruct.json') console.log('# stage 3: loss not required to fall (random frozen U-Net); stages.test.ts checks it at a fixed step');
      else assert.ok(tail < head, `${name}: loss ${head} → ${tail}`);
    }
  });
}
