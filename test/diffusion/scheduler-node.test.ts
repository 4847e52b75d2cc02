// The Scheduler node: presets ("DPM++ 2M Karras"), the karras choice, and a model folder's
// scheduler/scheduler_config.json (written here) as the defaults its widgets override, with what was ignored logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Executor } from '../../engine/index.ts';
import { createScheduler } from '../../models/schedulers/index.ts';
import { captured, testRegistry, workflow } from './fixtures.ts';
import type { SchedulerValue } from '../../nodes/diffusion/values.ts';

const registry = await testRegistry();

async function schedulerOf(widgets: Record<string, string | number | boolean>): Promise<{ value: SchedulerValue; log: string[] }> {
  const log: string[] = [];
  const ex = new Executor(registry, { log: (level, message) => log.push(`${level}: ${message}`) });
  const r = await ex.run(workflow(['sched', 'Scheduler', widgets], ['keep', 'Capture', { key: 'sched' }, { value: 'sched.scheduler' }]), {
    outputDir: mkdtempSync(path.join(os.tmpdir(), 'kosmos-sched-')),
  });
  assert.equal(r.status, 'ok', JSON.stringify(r.errors));
  return { value: captured.get('sched') as SchedulerValue, log };
}

const timestepsOf = (v: SchedulerValue) => createScheduler(v.name, v.config, { ...v.options, steps: v.steps }).timesteps;

test('the "DPM++ 2M Karras" preset and the karras choice give Karras timesteps', async () => {
  const preset = (await schedulerOf({ preset: 'DPM++ 2M Karras', name: 'ddim', steps: 20 })).value;
  assert.equal(preset.name, 'dpmsolver++');
  assert.deepEqual(timestepsOf(preset).slice(0, 4), [999, 962, 921, 876]);
  const widget = (await schedulerOf({ name: 'euler', sigmas: 'karras', steps: 20 })).value;
  assert.equal(widget.config.useKarrasSigmas, true);
  const plain = (await schedulerOf({ name: 'dpmsolver++', steps: 20 })).value;
  assert.deepEqual(timestepsOf(plain).slice(0, 2), [999, 949]);
});

test('karras on DDIM is a coded error at the Scheduler node', async () => {
  const ex = new Executor(registry, { log: () => {} });
  const r = await ex.run(workflow(['sched', 'Scheduler', { name: 'ddim', sigmas: 'karras' }], ['keep', 'Capture', {}, { value: 'sched.scheduler' }]), {
    outputDir: mkdtempSync(path.join(os.tmpdir(), 'kosmos-sched-')),
  });
  assert.equal(r.status, 'error');
  assert.match(JSON.stringify(r.errors), /BAD_SCHEDULER_OPTION/);
});

test("a model folder's scheduler_config.json: its settings by default, widgets override, unknown keys reported", async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-sched-folder-'));
  try {
    mkdirSync(path.join(root, 'scheduler'));
    // An SD 2.x-768-style config as diffusers writes it (Python's json writes -Infinity bare).
    writeFileSync(
      path.join(root, 'scheduler', 'scheduler_config.json'),
      `{
  "_class_name": "DPMSolverMultistepScheduler",
  "_diffusers_version": "0.21.4",
  "algorithm_type": "dpmsolver++",
  "beta_end": 0.012,
  "beta_schedule": "scaled_linear",
  "beta_start": 0.00085,
  "lambda_min_clipped": -Infinity,
  "lower_order_final": true,
  "num_train_timesteps": 1000,
  "prediction_type": "v_prediction",
  "rescale_betas_zero_snr": true,
  "solver_order": 2,
  "solver_type": "heun",
  "steps_offset": 1,
  "timestep_spacing": "trailing",
  "use_karras_sigmas": true,
  "clip_sample": true,
  "thresholding": true,
  "made_up_key": 3
}`,
    );
    const { value, log } = await schedulerOf({ name: 'dpmsolver++', steps: 10, config_path: root });
    assert.equal(value.config.predictionType, 'v_prediction');
    assert.equal(value.config.timestepSpacing, 'trailing');
    assert.equal(value.config.rescaleBetasZeroSnr, true);
    assert.equal(value.config.useKarrasSigmas, true);
    assert.equal(value.config.stepsOffset, 1);
    assert.equal(value.options.solverType, 'heun');
    // clip_sample is DDIM's: dropped for DPM-Solver++, and said so.
    assert.equal(value.config.clipSample, undefined);
    const text = log.join('\n');
    assert.match(text, /clip_sample is ignored: DPM-Solver\+\+ does not implement it/);
    assert.match(text, /thresholding true is not implemented/);
    assert.match(text, /unknown key "made_up_key"/);
    assert.match(text, /read .*scheduler_config\.json \(DPMSolverMultistepScheduler\)/);

    // Widgets override the file.
    const over = (await schedulerOf({ name: 'dpmsolver++', steps: 10, config_path: root, spacing: 'linspace', sigmas: 'plain', prediction: 'epsilon' })).value;
    assert.equal(over.config.timestepSpacing, 'linspace');
    assert.equal(over.config.useKarrasSigmas, false);
    assert.equal(over.config.predictionType, 'epsilon');
    assert.deepEqual(timestepsOf(over).slice(0, 2), [999, 899]);

    // The same file for DDIM keeps clip_sample and drops Karras, saying so.
    const ddim = await schedulerOf({ name: 'ddim', steps: 10, config_path: path.join(root, 'scheduler', 'scheduler_config.json') });
    assert.equal(ddim.value.config.clipSample, true);
    assert.equal(ddim.value.config.useKarrasSigmas, undefined);
    assert.match(ddim.log.join('\n'), /Karras sigmas \(use_karras_sigmas\) is ignored: DDIM does not implement it/);
    assert.match(ddim.log.join('\n'), /names DPMSolverMultistepScheduler; its settings are applied to ddim/);
    assert.match(ddim.log.join('\n'), /solverOrder, solverType, lowerOrderFinal apply to DPM-Solver\+\+ only; not used by ddim/);
    assert.deepEqual(ddim.value.options, { eta: 0 });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a folder without a scheduler config is a coded error naming where it looked', async () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kosmos-sched-empty-'));
  try {
    const ex = new Executor(registry, { log: () => {} });
    const r = await ex.run(workflow(['sched', 'Scheduler', { config_path: root }], ['keep', 'Capture', {}, { value: 'sched.scheduler' }]), {
      outputDir: root,
    });
    assert.equal(r.status, 'error');
    assert.match(JSON.stringify(r.errors), /MISSING_FILE.*scheduler_config\.json/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
