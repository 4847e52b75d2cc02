// The pipeline's stage scheduler: dependency order, at most `lanes` stages at once, and a failure stops the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runLanes, STAGE_DEPENDENCIES, type StageStarter } from '../../default-model/lanes.ts';
import type { StageJob, StageRecord } from '../../default-model/stage-run.ts';
import { STAGES, STAGE_SETTINGS, STAGE_TITLES, type StageName } from '../../default-model/workflows.ts';

const jobs = (stages: readonly StageName[] = STAGES): StageJob[] =>
  stages.map((stage) => ({ stage, weightsDir: '/w', workDir: '/k', settings: STAGE_SETTINGS[stage], baseDir: '/' }));
const record = (stage: StageName): StageRecord => ({ stage, title: STAGE_TITLES[stage], settings: STAGE_SETTINGS[stage], seconds: 1, secondsPerStep: 0.1 });

/** A starter whose stages finish when the test says, logging starts and ends. */
function manual(fails?: StageName) {
  const log: string[] = [];
  const finish = new Map<StageName, () => void>();
  const stopped: StageName[] = [];
  const cores = new Map<StageName, number>();
  const start: StageStarter = (job, _progress, share) => {
    log.push(`start ${job.stage}`);
    cores.set(job.stage, share);
    const promise = new Promise<StageRecord>((resolve, reject) => {
      finish.set(job.stage, () => {
        log.push(`end ${job.stage}`);
        if (job.stage === fails) reject(new Error(`${job.stage} broke`));
        else resolve(record(job.stage));
      });
    });
    return { promise, stop: () => { stopped.push(job.stage); finish.get(job.stage)!(); } };
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return { log, finish: async (s: StageName) => { finish.get(s)!(); await tick(); await tick(); }, start, stopped, tick, cores };
}

test('two lanes: CLIP ‖ VAE, stage 1 beside the VAE, the U-Net (which trains the text encoder) before stage 2, stage 3 last; records in pipeline order', async () => {
  const m = manual();
  const run = runLanes(jobs(), 2, m.start, {}, 4);
  await m.tick();
  assert.deepEqual(m.log, ['start clip', 'start vae']);
  await m.finish('clip');
  assert.deepEqual(m.log.slice(2), ['end clip', 'start stage1'], 'stage 1 needs only CLIP; the U-Net waits for the VAE');
  await m.finish('stage1');
  assert.deepEqual(m.log.slice(4), ['end stage1'], 'stage 2 aligns to the text encoder the U-Net stage trains');
  await m.finish('vae');
  assert.deepEqual(m.log.slice(5), ['end vae', 'start unet']);
  await m.finish('unet');
  assert.deepEqual(m.log.slice(7), ['end unet', 'start stage2']);
  await m.finish('stage2');
  assert.deepEqual(m.log.slice(9), ['end stage2', 'start stage3']);
  await m.finish('stage3');
  assert.deepEqual((await run).map((r) => r.stage), [...STAGES]);
  // Of 4 cores: stages that start beside another get 2, the U-Net and stages 2 and 3 (each alone) all 4.
  assert.deepEqual(Object.fromEntries(m.cores), { clip: 2, vae: 2, stage1: 2, unet: 4, stage2: 4, stage3: 4 });
});

test('the U-Net gets every core even when it starts beside a stage still running (stage 1 outlasting the VAE)', async () => {
  const m = manual();
  const run = runLanes(jobs(), 2, m.start, {}, 4);
  await m.tick();
  await m.finish('clip');
  await m.finish('vae');
  assert.deepEqual(m.log.slice(2), ['end clip', 'start stage1', 'end vae', 'start unet']);
  for (const s of ['stage1', 'unet', 'stage2', 'stage3'] as const) await m.finish(s);
  await run;
  assert.deepEqual(Object.fromEntries(m.cores), { clip: 2, vae: 2, stage1: 2, unet: 4, stage2: 4, stage3: 4 });
});

test('one lane runs the stages one at a time in pipeline order; a subset needs no stage outside it', async () => {
  const m = manual();
  const run = runLanes(jobs(['unet', 'stage1', 'stage3']), 1, m.start);
  for (const s of ['unet', 'stage1', 'stage3'] as const) {
    await m.tick();
    assert.equal(m.log.at(-1), `start ${s}`);
    await m.finish(s);
  }
  assert.deepEqual((await run).map((r) => r.stage), ['unet', 'stage1', 'stage3']);
});

test('a failing stage stops the one beside it and the run rejects with its error', async () => {
  const m = manual('vae');
  const rejected = assert.rejects(runLanes(jobs(), 2, m.start), /vae broke/);
  await m.tick();
  await m.finish('vae');
  await rejected;
  assert.deepEqual(m.stopped, ['clip']);
  assert.ok(!m.log.includes('start unet'));
});

test('with a frozen text encoder (train_text 0) stage 2 runs beside the U-Net', async () => {
  const m = manual();
  const frozen = jobs().map((j) => (j.stage === 'unet' ? { ...j, settings: { ...j.settings, trainText: 0 } } : j));
  const run = runLanes(frozen, 2, m.start, {}, 4);
  await m.tick();
  await m.finish('clip');
  await m.finish('stage1');
  assert.equal(m.log.at(-1), 'start stage2', 'stage 2 starts before the U-Net');
  await m.finish('vae');
  assert.equal(m.log.at(-1), 'start unet');
  await m.finish('stage2');
  await m.finish('unet');
  assert.equal(m.log.at(-1), 'start stage3');
  await m.finish('stage3');
  assert.deepEqual((await run).map((r) => r.stage), [...STAGES]);
});

test('every dependency is an earlier stage, so pipeline order is always a valid order', () => {
  for (const s of STAGES) for (const d of STAGE_DEPENDENCIES[s]) assert.ok(STAGES.indexOf(d) < STAGES.indexOf(s), `${s} after ${d}`);
});
