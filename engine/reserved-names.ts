// Names a workflow may not use for node ids, widgets, inputs or outputs: the members of Object.prototype
// (`__proto__`, `constructor`, `toString`, ...) and `prototype`. Looked up on a plain object they find inherited
// members instead of nothing, and `__proto__` even vanishes when parsed into one, so a graph using them could pass
// validation wrongly or lose its outputs. They are refused at parse time with RESERVED_NAME; lookups by name use
// `ownValue` besides, so no inherited member is ever mistaken for a declared one.
import type { WorkflowIssue } from './errors.ts';

export const RESERVED_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

export function isReservedName(name: string): boolean {
  return RESERVED_NAMES.has(name);
}

/** `record[key]` when `key` is the record's own property; never an inherited member. */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every reserved name in a raw (not yet schema-checked) workflow: node ids, widget and input names, and each
 * link's source node and output. Anything that is not shaped like a workflow is left to the schema.
 */
export function reservedNameIssues(raw: unknown): WorkflowIssue[] {
  const issues: WorkflowIssue[] = [];
  const nodes = isObject(raw) && Array.isArray(raw.nodes) ? raw.nodes : [];
  nodes.forEach((node: unknown, index) => {
    if (!isObject(node)) return;
    const at = `nodes[${index}]`;
    const id = typeof node.id === 'string' ? node.id : undefined;
    const where = (input?: string) => ({ ...(id !== undefined && !isReservedName(id) ? { node: id } : {}), ...(input !== undefined ? { input } : {}) });
    const refuse = (name: string, what: string, path: string, input?: string) =>
      issues.push({ code: 'RESERVED_NAME', ...where(input), path, message: `${what} "${name}" is a reserved name (a JavaScript object member); choose another` });
    if (id !== undefined && isReservedName(id)) refuse(id, 'node id', `${at}.id`);
    for (const field of ['widgets', 'inputs'] as const) {
      const record = node[field];
      if (!isObject(record)) continue;
      for (const name of Object.keys(record)) {
        if (isReservedName(name)) refuse(name, field === 'widgets' ? 'widget name' : 'input name', `${at}.${field}.${name}`, name);
        const link = field === 'inputs' ? record[name] : undefined;
        if (!isObject(link)) continue;
        if (typeof link.node === 'string' && isReservedName(link.node)) refuse(link.node, 'linked node id', `${at}.inputs.${name}.node`, name);
        if (typeof link.output === 'string' && isReservedName(link.output)) refuse(link.output, 'linked output name', `${at}.inputs.${name}.output`, name);
      }
    }
  });
  return issues;
}
