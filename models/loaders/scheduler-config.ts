// diffusers `scheduler/scheduler_config.json` → the project's scheduler config (spec §3.5). The SD 1.5 file names
// PNDMScheduler with skip_prk_steps and no timestep_spacing key, so each scheduler keeps its own default spacing.

import type { SchedulerConfig, TimestepSpacing } from '../schedulers/schedule.ts';
import type { SchedulerName } from '../schedulers/scheduler.ts';
import { LoaderError } from './errors.ts';

export interface LoadedSchedulerConfig {
  config: Partial<SchedulerConfig>;
  /** The scheduler the file names (`_class_name`), when it is one the project implements. */
  suggested?: SchedulerName;
  className?: string;
  /** Settings the file asks for that the project does not implement (they are ignored). */
  warnings: string[];
}

const CLASS_TO_NAME: Record<string, SchedulerName> = {
  PNDMScheduler: 'pndm',
  DDIMScheduler: 'ddim',
  DPMSolverMultistepScheduler: 'dpmsolver++',
  EulerDiscreteScheduler: 'euler',
};

export function schedulerConfigFromDiffusers(json: Record<string, unknown>, where = 'scheduler/scheduler_config.json'): LoadedSchedulerConfig {
  const config: Partial<SchedulerConfig> = {};
  const warnings: string[] = [];
  const num = (key: string): number | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LoaderError('BAD_SCHEDULER_CONFIG', `${where}: "${key}" must be a number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string): boolean | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw new LoaderError('BAD_SCHEDULER_CONFIG', `${where}: "${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  config.numTrainTimesteps = num('num_train_timesteps');
  config.betaStart = num('beta_start');
  config.betaEnd = num('beta_end');
  config.stepsOffset = num('steps_offset');
  config.setAlphaToOne = bool('set_alpha_to_one');
  const schedule = json['beta_schedule'];
  if (schedule !== undefined) {
    if (schedule !== 'scaled_linear' && schedule !== 'linear') {
      throw new LoaderError('BAD_SCHEDULER_CONFIG', `${where}: beta_schedule "${String(schedule)}" is not supported (scaled_linear or linear)`);
    }
    config.betaSchedule = schedule;
  }
  const trained = json['trained_betas'];
  if (Array.isArray(trained)) config.trainedBetas = trained.map(Number);
  const prediction = json['prediction_type'];
  if (prediction !== undefined && prediction !== 'epsilon') {
    throw new LoaderError('UNSUPPORTED_PREDICTION', `${where}: prediction_type "${String(prediction)}" is not supported (SD 1.5 predicts epsilon)`);
  }
  const spacing = json['timestep_spacing'];
  if (spacing !== undefined) {
    if (spacing !== 'leading' && spacing !== 'linspace' && spacing !== 'trailing') {
      throw new LoaderError('BAD_SCHEDULER_CONFIG', `${where}: timestep_spacing "${String(spacing)}" is not one of leading, linspace, trailing`);
    }
    config.timestepSpacing = spacing as TimestepSpacing;
  }
  if (bool('clip_sample') === true) warnings.push('clip_sample true is ignored (SD 1.5 sets it false)');
  if (bool('thresholding') === true) warnings.push('thresholding is ignored');
  if (json['skip_prk_steps'] === false) warnings.push('skip_prk_steps false is ignored: PNDM runs as PLMS');
  if (bool('use_karras_sigmas') === true) warnings.push('use_karras_sigmas is ignored');
  const className = typeof json['_class_name'] === 'string' ? (json['_class_name'] as string) : undefined;
  for (const k of Object.keys(config) as (keyof SchedulerConfig)[]) if (config[k] === undefined) delete config[k];
  return { config, suggested: className ? CLASS_TO_NAME[className] : undefined, className, warnings };
}
