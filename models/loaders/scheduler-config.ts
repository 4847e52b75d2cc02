// diffusers `scheduler/scheduler_config.json` → the project's scheduler config and solver options (spec §3.5).
// Every key is accounted for: read into the config, accepted because its value is what the project does anyway,
// or reported in `warnings` (a setting the project does not implement, or a key it does not know). The SD 1.5 file
// names PNDMScheduler with skip_prk_steps and no timestep_spacing key, so each scheduler keeps its own default
// spacing. Keys absent from the file keep the project's SD 1.5 defaults (diffusers' DDIMScheduler class defaults
// clip_sample and set_alpha_to_one to true; a DDIM file without those keys therefore differs here).

import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { PredictionType, SchedulerConfig, TimestepSpacing } from '../schedulers/schedule.ts';
import type { SchedulerName } from '../schedulers/scheduler.ts';
import type { SchedulerOptions } from '../schedulers/index.ts';
import { LoaderError } from './errors.ts';
import { parseJsonObject } from './json.ts';
import { ignoredSettings } from '../config-keys.ts';

export interface LoadedSchedulerConfig {
  config: Partial<SchedulerConfig>;
  /** Solver settings of the file (DPM-Solver++: solver_order, solver_type, lower_order_final, final_sigmas_type). */
  options: SchedulerOptions;
  /** The scheduler the file names (`_class_name`), when it is one the project implements. */
  suggested?: SchedulerName;
  className?: string;
  /** Settings the file asks for that the project does not implement, and keys it does not know (all ignored). */
  warnings: string[];
}

const CLASS_TO_NAME: Record<string, SchedulerName> = {
  PNDMScheduler: 'pndm',
  DDIMScheduler: 'ddim',
  DPMSolverMultistepScheduler: 'dpmsolver++',
  EulerDiscreteScheduler: 'euler',
};

/** Keys whose listed values are what the project does anyway; any other value is reported as ignored. */
const ACCEPTED_AS_IS: Record<string, readonly unknown[]> = {
  thresholding: [false],
  skip_prk_steps: [true],
  algorithm_type: ['dpmsolver++'],
  lambda_min_clipped: [-Infinity, null],
  variance_type: [null],
  interpolation_type: ['linear'],
  timestep_type: ['discrete'],
  sigma_min: [null],
  sigma_max: [null],
  use_exponential_sigmas: [false],
  use_beta_sigmas: [false],
  use_lu_lambdas: [false],
  euler_at_final: [false],
};

/** Keys that only matter together with a setting reported above (thresholding). */
const NO_EFFECT: Record<string, string> = {
  dynamic_thresholding_ratio: 'used only with thresholding',
  sample_max_value: 'used only with thresholding',
};

const READ = [
  'num_train_timesteps',
  'beta_start',
  'beta_end',
  'beta_schedule',
  'trained_betas',
  'set_alpha_to_one',
  'steps_offset',
  'prediction_type',
  'timestep_spacing',
  'rescale_betas_zero_snr',
  'use_karras_sigmas',
  'clip_sample',
  'clip_sample_range',
  'solver_order',
  'solver_type',
  'lower_order_final',
  'final_sigmas_type',
];

export function schedulerConfigFromDiffusers(json: Record<string, unknown>, where = 'scheduler/scheduler_config.json'): LoadedSchedulerConfig {
  const config: Partial<SchedulerConfig> = {};
  const options: SchedulerOptions = {};
  const warnings: string[] = [];
  const bad = (key: string, expected: string): never => {
    throw new LoaderError('BAD_SCHEDULER_CONFIG', `${where}: "${key}" must be ${expected}, got ${JSON.stringify(json[key])}`);
  };
  const num = (key: string): number | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'number' && Number.isFinite(v) ? v : bad(key, 'a number');
  };
  const bool = (key: string): boolean | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : bad(key, 'true or false');
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const v = json[key];
    if (v === undefined || v === null) return undefined;
    return allowed.includes(v as T) ? (v as T) : bad(key, `one of ${allowed.join(', ')}`);
  };

  config.numTrainTimesteps = num('num_train_timesteps');
  config.betaStart = num('beta_start');
  config.betaEnd = num('beta_end');
  config.stepsOffset = num('steps_offset');
  config.setAlphaToOne = bool('set_alpha_to_one');
  config.betaSchedule = oneOf('beta_schedule', ['scaled_linear', 'linear', 'squaredcos_cap_v2'] as const);
  const trained = json['trained_betas'];
  if (Array.isArray(trained)) config.trainedBetas = trained.map(Number);
  const prediction = json['prediction_type'];
  if (prediction !== undefined && prediction !== null && !['epsilon', 'v_prediction', 'sample'].includes(prediction as string)) {
    throw new LoaderError('UNSUPPORTED_PREDICTION', `${where}: prediction_type "${String(prediction)}" is not supported (epsilon, v_prediction or sample)`);
  }
  config.predictionType = (prediction ?? undefined) as PredictionType | undefined;
  config.timestepSpacing = oneOf<TimestepSpacing>('timestep_spacing', ['leading', 'linspace', 'trailing']);
  config.rescaleBetasZeroSnr = bool('rescale_betas_zero_snr');
  config.useKarrasSigmas = bool('use_karras_sigmas');
  config.clipSample = bool('clip_sample');
  config.clipSampleRange = num('clip_sample_range');

  const order = num('solver_order');
  if (order === 1 || order === 2) options.solverOrder = order;
  else if (order !== undefined) warnings.push(`solver_order ${order} is not implemented: DPM-Solver++ runs second order`);
  const solverType = json['solver_type'];
  if (solverType === 'midpoint' || solverType === 'heun') options.solverType = solverType;
  else if (solverType !== undefined && solverType !== null) warnings.push(`solver_type "${String(solverType)}" is not implemented: midpoint is used`);
  const lowerOrderFinal = bool('lower_order_final');
  if (lowerOrderFinal !== undefined) options.lowerOrderFinal = lowerOrderFinal;
  const finalSigmas = json['final_sigmas_type'];
  if (finalSigmas === 'zero') options.finalSigma = 'zero';
  else if (finalSigmas === 'sigma_min') {
    options.finalSigma = 'alpha0';
    if (config.useKarrasSigmas) warnings.push('final_sigmas_type "sigma_min" with Karras σ runs as diffusers 0.21.4 (steps at the rounded timesteps), not σ-indexed');
  }
  else if (finalSigmas !== undefined && finalSigmas !== null) warnings.push(`final_sigmas_type "${String(finalSigmas)}" is not implemented`);

  warnings.push(...ignoredSettings(json, { read: READ, asIs: ACCEPTED_AS_IS, noEffect: NO_EFFECT }));
  const className = typeof json['_class_name'] === 'string' ? (json['_class_name'] as string) : undefined;
  if (className && !CLASS_TO_NAME[className]) warnings.push(`${className} is not implemented: its settings are applied to the scheduler the node names`);
  for (const k of Object.keys(config) as (keyof SchedulerConfig)[]) if (config[k] === undefined) delete config[k];
  return { config, options, suggested: className ? CLASS_TO_NAME[className] : undefined, className, warnings };
}

/**
 * The scheduler_config.json a path means: the file itself, a folder's `scheduler_config.json`, or a model
 * folder's `scheduler/scheduler_config.json`.
 */
export async function findSchedulerConfigFile(where: string): Promise<string> {
  const candidates = where.endsWith('.json') ? [where] : [path.join(where, 'scheduler', 'scheduler_config.json'), path.join(where, 'scheduler_config.json')];
  for (const file of candidates) {
    try {
      if ((await stat(file)).isFile()) return file;
    } catch {
      // try the next place
    }
  }
  throw new LoaderError('MISSING_FILE', `${where}: no scheduler config (looked for ${candidates.join(', ')})`);
}

/** Reads and interprets the scheduler config a model folder, scheduler folder or JSON file holds. */
export async function loadSchedulerConfig(where: string): Promise<LoadedSchedulerConfig & { file: string }> {
  const file = await findSchedulerConfigFile(where);
  const json = parseJsonObject(await readFile(file, 'utf8'), file);
  return { ...schedulerConfigFromDiffusers(json, file), file };
}
