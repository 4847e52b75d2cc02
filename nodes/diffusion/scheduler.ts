// The Scheduler node: a recipe (name, steps, spacing, solver options) that the Sampler turns into a fresh
// stateful scheduler for each run (models/schedulers/, spec §1.7, §3.5).

import { defineNode } from '../../engine/node-def.ts';
import { createScheduler, SCHEDULER_NAMES, type SchedulerName, type TimestepSpacing } from '../../models/schedulers/index.ts';
import type { SchedulerValue } from './values.ts';

export const Scheduler = defineNode({
  type: 'Scheduler',
  category: 'diffusion/sampling',
  description:
    "A noise scheduler with the SD 1.5 config: DPM-Solver++ 2M (KOSMOS-G's default), DDIM, Euler or PNDM/PLMS. 'default' spacing is each scheduler's own (DPM: linspace, as diffusers 0.21.4)",
  inputs: {},
  widgets: {
    name: { kind: 'ENUM', options: SCHEDULER_NAMES, default: 'dpmsolver++' },
    steps: { kind: 'INT', default: 50, min: 1, max: 1000 },
    spacing: { kind: 'ENUM', options: ['default', 'leading', 'linspace', 'trailing'], default: 'default' },
    final_sigma: {
      kind: 'ENUM',
      options: ['alpha0', 'zero'],
      default: 'alpha0',
      description: "DPM-Solver++: the last step goes to ᾱ₀ (diffusers 0.21.4, KOSMOS-G) or to σ = 0 (newer diffusers)",
    },
    eta: { kind: 'FLOAT', default: 0, min: 0, max: 1, description: 'DDIM stochasticity (0: deterministic)' },
  },
  outputs: { scheduler: { type: 'SCHEDULER' } },
  execute({ name, steps, spacing, final_sigma, eta }) {
    const value: SchedulerValue = {
      name: name as SchedulerName,
      steps,
      config: spacing === 'default' ? {} : { timestepSpacing: spacing as TimestepSpacing },
      options: { finalSigma: final_sigma as 'alpha0' | 'zero', eta },
    };
    // Fail here, at the node that has the bad settings, rather than inside the Sampler.
    createScheduler(value.name, value.config, { ...value.options, steps });
    return { scheduler: value };
  },
});
