// Resource budgets checked at validation, so a workflow that would exhaust memory (a 4096×4096×64 latent, an
// 8192² resize) is refused with BUDGET_EXCEEDED on the node and widget before anything runs. A node declares what
// it will allocate from its widget values (`budget` in its definition); the limits are the executor's options,
// else KOSMOS_G_MAX_PIXELS / KOSMOS_G_MAX_LATENT_ELEMENTS, else the defaults below.
import type { WorkflowIssue } from './errors.ts';
import type { Workflow } from './format.ts';
import type { Registry } from './registry.ts';
import { ownValue } from './reserved-names.ts';

export type BudgetResource = 'pixels' | 'latentElements';

export type Budgets = Record<BudgetResource, number>;

/** Pixels of one image (4096², the largest latent side the diffusion nodes take) and float elements of one latent (1 GiB). */
export const DEFAULT_BUDGETS: Readonly<Budgets> = { pixels: 4096 * 4096, latentElements: 2 ** 28 };

export const BUDGET_ENV: Readonly<Record<BudgetResource, string>> = {
  pixels: 'KOSMOS_G_MAX_PIXELS',
  latentElements: 'KOSMOS_G_MAX_LATENT_ELEMENTS',
};

/** What a node will allocate: `amount` of `resource`, blamed on `widget`, described by `what`. */
export interface BudgetUse {
  resource: BudgetResource;
  amount: number;
  widget: string;
  what: string;
}

/** Limits set in the environment (positive integers; anything else is ignored). */
export function budgetsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<Budgets> {
  const out: Partial<Budgets> = {};
  for (const [resource, name] of Object.entries(BUDGET_ENV) as [BudgetResource, string][]) {
    const value = Number(env[name]);
    if (Number.isSafeInteger(value) && value > 0) out[resource] = value;
  }
  return out;
}

/**
 * Each active node's declared uses against the limits. A node sees its widget values with defaults filled in;
 * widgets fed by a link are absent (their values are unknown before the run).
 */
export function budgetIssues(wf: Workflow, registry: Registry, budgets: Budgets): WorkflowIssue[] {
  const issues: WorkflowIssue[] = [];
  for (const node of wf.nodes) {
    if ((node.mode ?? 'active') !== 'active') continue;
    const def = registry.get(node.type);
    if (def?.budget === undefined) continue;
    const values: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(def.widgets)) {
      if (ownValue(node.inputs, name) === undefined) values[name] = ownValue(node.widgets, name) ?? spec.default;
    }
    // Values may still be of the wrong type (validation reports that too): budget functions check what they read.
    for (const use of def.budget(values as never, (input) => ownValue(node.inputs, input) !== undefined)) {
      const limit = budgets[use.resource];
      if (use.amount <= limit) continue;
      issues.push({
        code: 'BUDGET_EXCEEDED',
        node: node.id,
        input: use.widget,
        message: `${use.what} is ${use.amount.toLocaleString('en')} ${use.resource === 'pixels' ? 'pixels' : 'latent elements'}, above the limit of ${limit.toLocaleString('en')} (${BUDGET_ENV[use.resource]})`,
      });
    }
  }
  return issues;
}
