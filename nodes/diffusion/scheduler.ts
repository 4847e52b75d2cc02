// The Scheduler node: a recipe (name, steps, spacing, σ spacing, prediction type, solver options) that the Sampler
// turns into a fresh stateful scheduler for each run (models/schedulers/, spec §1.7, §3.5). Pointed at a model
// folder it starts from the folder's scheduler_config.json; a widget left at 'default' keeps the file's setting,
// any other value overrides it. What was read, overridden or ignored is logged on the node.

import { defineNode, type Logger } from '../../engine/node-def.ts';
import {
  createScheduler,
  PREDICTION_TYPES,
  SCHEDULER_NAMES,
  SCHEDULER_PRESET_NAMES,
  SCHEDULER_PRESETS,
  withoutUnsupported,
  type PredictionType,
  type SchedulerConfig,
  type SchedulerName,
  type SchedulerOptions,
  type SchedulerPresetName,
  type TimestepSpacing,
} from '../../models/schedulers/index.ts';
import { loadSchedulerConfig, type LoadedSchedulerConfig } from '../../models/loaders/scheduler-config.ts';
import type { SchedulerValue } from './values.ts';

export const Scheduler = defineNode({
  type: 'Scheduler',
  category: 'diffusion/sampling',
  description:
    "A noise scheduler with the SD 1.5 config, or a model folder's scheduler_config.json: DPM-Solver++ 2M (KOSMOS-G's default), DDIM, Euler or PNDM/PLMS, optionally with Karras σ. 'default' settings are the folder's, else each scheduler's own (DPM: linspace spacing, as diffusers 0.21.4)",
  inputs: {},
  widgets: {
    preset: {
      kind: 'ENUM',
      options: ['custom', ...SCHEDULER_PRESET_NAMES],
      default: 'custom',
      description: "A sampler by its front-end name (sets the scheduler and its σ spacing); 'custom': the name and sigmas widgets",
    },
    name: { kind: 'ENUM', options: SCHEDULER_NAMES, default: 'dpmsolver++' },
    steps: { kind: 'INT', default: 50, min: 1, max: 1000 },
    spacing: { kind: 'ENUM', options: ['default', 'leading', 'linspace', 'trailing'], default: 'default' },
    sigmas: {
      kind: 'ENUM',
      options: ['default', 'karras', 'plain'],
      default: 'default',
      description: "DPM-Solver++ and Euler: 'karras' spaces the noise levels as Karras et al. (ρ = 7); 'default': the folder's use_karras_sigmas, else plain",
    },
    prediction: {
      kind: 'ENUM',
      options: ['default', ...PREDICTION_TYPES],
      default: 'default',
      description: "What the U-Net predicts: epsilon (SD 1.x, SD 2.x base), v_prediction (SD 2.x 768) or sample; 'default': the folder's prediction_type, else epsilon",
    },
    final_sigma: {
      kind: 'ENUM',
      options: ['default', 'alpha0', 'zero'],
      default: 'default',
      description:
        "DPM-Solver++: the last step goes to ᾱ₀ (alpha0: diffusers 0.21.4, KOSMOS-G) or to σ = 0 (zero: newer diffusers); 'default': the folder's final_sigmas_type, else alpha0",
    },
    eta: { kind: 'FLOAT', default: 0, min: 0, max: 1, description: 'DDIM stochasticity (0: deterministic)' },
    config_path: {
      kind: 'PATH',
      default: '',
      mode: 'read',
      extensions: ['.json'],
      description: "A diffusers model folder, its scheduler/ folder or a scheduler_config.json whose settings are the defaults here; empty: SD 1.5's",
    },
  },
  outputs: { scheduler: { type: 'SCHEDULER' } },
  async execute({ preset, name, steps, spacing, sigmas, prediction, final_sigma, eta, config_path }, ctx) {
    const chosen = preset === 'custom' ? undefined : SCHEDULER_PRESETS[preset as SchedulerPresetName];
    const schedulerName: SchedulerName = chosen?.name ?? (name as SchedulerName);
    const file = config_path.trim() === '' ? undefined : await readFileConfig(config_path, ctx.log);

    let config: Partial<SchedulerConfig> = {};
    let options: SchedulerOptions = {};
    if (file) {
      if (file.className && file.suggested !== schedulerName) {
        ctx.log.info(`Scheduler: ${file.file} names ${file.className}; its settings are applied to ${schedulerName}, as the node says`);
      }
      const applicable = withoutUnsupported(schedulerName, file.config);
      for (const d of applicable.dropped) ctx.log.warn(`Scheduler: ${file.file}: ${d}`);
      config = applicable.config;
      const solver = Object.keys(file.options);
      if (schedulerName === 'dpmsolver++') options = { ...file.options };
      else if (solver.length) ctx.log.info(`Scheduler: ${file.file}: ${solver.join(', ')} apply to DPM-Solver++ only; not used by ${schedulerName}`);
    }
    if (spacing !== 'default') config.timestepSpacing = spacing as TimestepSpacing;
    if (chosen) config.useKarrasSigmas = chosen.config.useKarrasSigmas === true;
    else if (sigmas !== 'default') config.useKarrasSigmas = sigmas === 'karras';
    if (prediction !== 'default') config.predictionType = prediction as PredictionType;
    if (final_sigma !== 'default') options.finalSigma = final_sigma as 'alpha0' | 'zero';
    const value: SchedulerValue = { name: schedulerName, steps, config, options: { ...options, eta } };
    // Fail here, at the node that has the bad settings, rather than inside the Sampler.
    createScheduler(value.name, value.config, { ...value.options, steps });
    return { scheduler: value };
  },
});

async function readFileConfig(where: string, log: Logger): Promise<LoadedSchedulerConfig & { file: string }> {
  // A LoaderError carries its code and the file's path; the executor reports it as it is.
  const loaded = await loadSchedulerConfig(where);
  const read = Object.entries(loaded.config).map(([k, v]) => `${k} ${Array.isArray(v) ? `[${v.length} values]` : String(v)}`);
  const solver = Object.entries(loaded.options).map(([k, v]) => `${k} ${String(v)}`);
  log.info(`Scheduler: read ${loaded.file}${loaded.className ? ` (${loaded.className})` : ''}: ${[...read, ...solver].join(', ') || 'no settings'}`);
  for (const w of loaded.warnings) log.warn(`Scheduler: ${loaded.file}: ${w}`);
  return loaded;
}
