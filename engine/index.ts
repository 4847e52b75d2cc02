// The engine's public API. The engine imports nothing from server/, web/ or models/.
export * from './node-def.ts';
export { KosmosError, CancelledError, formatIssue, errorCode, errorMessage, type WorkflowIssue, type KosmosErrorOptions } from './errors.ts';
export {
  parseWorkflow,
  workflowJsonSchema,
  duplicateIdIssues,
  WorkflowSchema,
  WorkflowNodeSchema,
  LinkSchema,
  WORKFLOW_FORMAT,
  LIMITS,
  type Workflow,
  type WorkflowNode,
  type Link,
  type WidgetValue,
  type NodeMode,
} from './format.ts';
export { migrateWorkflow, CURRENT_VERSION, MIGRATIONS, type Migration } from './migrate.ts';
export { Registry, BUILTIN_PACKS, BUILTINS_ENV, PLUGINS_ENV, CONFIG_FILE, type Catalogue, type CatalogueNode, type LoadError, type RegistryLoadOptions } from './registry.ts';
export { validateWorkflow, ANY_TYPE } from './validate.ts';
export { checkWidgetValue, socketTypesForWidget, MAX_SEED } from './widgets.ts';
export { DEFAULT_BUDGETS, BUDGET_ENV, budgetsFromEnv, type Budgets, type BudgetResource, type BudgetUse } from './budgets.ts';
export { RESERVED_NAMES, isReservedName } from './reserved-names.ts';
export { compileWorkflow, type CompiledGraph, type CompiledNode } from './compile.ts';
export { planRun, topologicalOrder, type Plan, type PlanOptions, type RecomputeRegion } from './plan.ts';
export { OutputCache, valueByteSize, disposeValue, type CacheEntry, type CacheLimits } from './cache.ts';
export { applyOverrides, type Overrides } from './overrides.ts';
export { Executor, type ExecutorOptions, type RunOptions } from './execute.ts';
export type { EngineEvent, RunResult, JobStatus } from './events.ts';
