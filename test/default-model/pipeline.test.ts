import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { quickSettings, trainDefault, type TrainingRecord } from '../../default-model/pipeline.ts';
import { parseArgs, stageSettings } from '../../default-model/args.ts';
import { STAGES } from '../../default-model/workflows.ts';
import { readSafetensorsHeader } from '../../models/io/safetensors.ts';
import { CONFIG_METADATA_KEY } from '../../models/kosmosg/weights.ts';
import { buildEvalSet } from '../../models/world/eval-set.ts';
import { modelGenerator } from '../../default-model/generate.ts';
import { scoreImage } from '../../models/world/score.ts';
import { DEFAULT_IMAGE_SIZE } from '../../default-model/config.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('train-default --quick runs all six stages into a fresh folder (two at a time, each in a process of its own), and the result generates through the graph', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'train-default-'));
  try {
    const out = path.join(dir, 'weights');
    const lines: string[] = [];
    const progress: string[] = [];
    const { record, weights, work } = await trainDefault({
      out,
      scenes: 16,
      seed: 7,
      settings: quickSettings(1, 2),
      baseDir: root,
      lanes: 2,
      onLine: (l) => lines.push(l),
      onProgress: (stage, step, steps) => progress.push(`${stage} ${step}/${steps}`),
    });
    assert.equal(record.lanes, 2);
    assert.equal(weights.dir, out);
    assert.ok(!existsSync(`${out}.partial`), 'the partial folder is renamed into place');
    assert.deepEqual(record.stages.map((s) => s.stage), [...STAGES]);
    for (const s of record.stages) {
      assert.equal(s.settings.steps, 1);
      assert.ok(s.firstLoss !== undefined && Number.isFinite(s.firstLoss), `${s.stage} loss`);
      assert.ok(progress.includes(`${s.stage} 1/1`), `${s.stage} progress`);
    }
    const saved = JSON.parse(readFileSync(weights.record, 'utf8')) as TrainingRecord;
    assert.equal(saved.stages.length, 6);
    for (const file of [weights.tokenizer, weights.clipTokenizer, weights.unet, weights.vae, weights.textEncoder, weights.kosmosG, work.kosmosGStage2]) {
      assert.ok(existsSync(file), file);
    }
    assert.ok(existsSync(path.join(weights.unetDir, 'config.json')));
    // The parts carry their configs, so config 'from-file' needs no guessing.
    const header = await readSafetensorsHeader(weights.kosmosG);
    const configs = JSON.parse(header.metadata[CONFIG_METADATA_KEY]!);
    assert.equal(configs.mllm.embedDim, 128);
    assert.ok(lines.some((l) => l.includes('held out')));
    assert.ok(lines.some((l) => l.includes('colour-free')));
    const compositional = readFileSync(work.compositional, 'utf8').trim().split('\n').map((l) => JSON.parse(l).caption as string);
    assert.ok(compositional.some((c) => /^a (circle|square|triangle|star) /.test(c)), 'colour-free copies are in the stage-3 data');

    // A subset of the stages continues from the trained folder instead of starting again from random weights.
    const before = readFileSync(weights.unet);
    const again = await trainDefault({ out, scenes: 16, seed: 7, stages: ['stage2'], settings: quickSettings(1, 2), baseDir: root, lanes: 1, onLine: (l) => lines.push(l) });
    assert.deepEqual(again.record.stages.map((s) => s.stage), [...STAGES], 'the other stages\' records are kept');
    assert.ok(lines.some((l) => l.startsWith('continuing from')));
    assert.ok(lines.some((l) => l.includes('already in')), 'the same scenes and seed reuse the world data');

    // --resume continues a stage from its last checkpoint: the losses before it are kept and one more step is added.
    const state = () => {
      const dir = path.join(work.checkpoints, 'stage2');
      const latest = JSON.parse(readFileSync(path.join(dir, 'latest.json'), 'utf8')) as { dir: string };
      return JSON.parse(readFileSync(path.join(dir, latest.dir, 'state.json'), 'utf8')) as { step: number; losses: number[] };
    };
    const before2 = state();
    assert.equal(before2.step, 1);
    await trainDefault({ out, scenes: 16, seed: 7, stages: ['stage2'], settings: quickSettings(2, 2), resume: true, baseDir: root, lanes: 1, onLine: (l) => lines.push(l) });
    const after2 = state();
    assert.equal(after2.step, 2);
    assert.deepEqual(after2.losses.slice(0, 1), before2.losses, 'the resumed run keeps the steps before it');
    assert.ok(lines.some((l) => l.startsWith('stage2: resuming from')));
    assert.ok(readFileSync(weights.unet).equals(before), 'the U-Net is kept as trained');

    // The trained folder loads in the generation graph and gives a 64×64 picture the harness can score.
    const item = buildEvalSet({ perTask: 1 }).find((i) => i.task === 'single')!;
    const g = await modelGenerator({ weights: out, backend: 'tfjs', steps: 2 });
    try {
      const image = await g.generate(item);
      assert.equal(image.width, DEFAULT_IMAGE_SIZE);
      assert.equal(image.height, DEFAULT_IMAGE_SIZE);
      assert.equal(scoreImage(item, image).id, item.id);
    } finally {
      await g.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unknown stage is refused with a code before anything is written', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'train-default-bad-'));
  try {
    await assert.rejects(
      trainDefault({ out: path.join(dir, 'w'), scenes: 4, seed: 1, stages: ['nope' as never], baseDir: root }),
      (e: Error & { code?: string }) => e.code === 'DEFAULT_BAD_OPTION' && /nope/.test(e.message),
    );
    assert.ok(!existsSync(path.join(dir, 'w.partial')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('train-default arguments: --set overrides one stage over --steps, and bad values are refused with a code', () => {
  const args = parseArgs(['--steps', '5', '--set', 'unet.batch=16', '--set', 'unet.lr=2e-3', '--set', 'vae.steps=7']);
  const s = stageSettings(args);
  assert.deepEqual(s.unet, { steps: 5, batch: 16, lr: 2e-3 });
  assert.deepEqual(s.vae, { steps: 7 });
  assert.deepEqual(s.clip, { steps: 5 });
  assert.deepEqual(stageSettings(parseArgs(['--quick', '--set', 'stage3.steps=3'])).stage3, { steps: 3, batch: 2, warmup: 0 });
  assert.equal(parseArgs(['--lanes', '1']).lanes, 1);
  const recipe = stageSettings(parseArgs(['--set', 'unet.offset_noise=0.3', '--set', 'stage3.align=0.25', '--set', 'stage3.offset_noise=0.1']));
  assert.deepEqual(recipe.unet, { offsetNoise: 0.3 });
  assert.deepEqual(recipe.stage3, { align: 0.25, offsetNoise: 0.1 });
  const refused = [['--lanes', '0'], ['--set', 'unet.batch=1.5'], ['--set', 'nope.steps=1'], ['--set', 'unet.lr=3'], ['--set', 'unet.depth=2'], ['--set']];
  // offset noise belongs to the diffusion stages, the alignment share to stage 3, and each has a range.
  refused.push(['--set', 'vae.offset_noise=0.3'], ['--set', 'unet.offset_noise=2'], ['--set', 'stage2.align=0.5'], ['--set', 'stage3.align=1']);
  // Training the text encoder with the diffusion loss is the U-Net stage's, and a yes or no.
  assert.deepEqual(stageSettings(parseArgs(['--set', 'unet.train_text=1'])).unet, { trainText: 1 });
  refused.push(['--set', 'stage3.train_text=1'], ['--set', 'unet.train_text=0.5'], ['--resume']);
  // The weight of scene captions in stage 1's mix is stage 1's, and positive.
  assert.deepEqual(stageSettings(parseArgs(['--set', 'stage1.scene_weight=2'])).stage1, { sceneWeight: 2 });
  refused.push(['--set', 'stage3.scene_weight=2'], ['--set', 'stage1.scene_weight=0']);
  // Training the vision tower's last block with the MLLM is stage 1's, and a yes or no.
  assert.deepEqual(stageSettings(parseArgs(['--set', 'stage1.train_vision=1'])).stage1, { trainVision: 1 });
  refused.push(['--set', 'stage3.train_vision=1'], ['--set', 'stage1.train_vision=2']);
  assert.equal(parseArgs(['--resume', '--stages', 'unet']).resume, true);
  for (const bad of refused) {
    assert.throws(() => parseArgs(bad), (e: Error & { code?: string }) => e.code === 'DEFAULT_BAD_OPTION', bad.join(' '));
  }
});
