// Sanity checks on a node declaration when a pack is added, so a broken plugin is rejected at load time with a
// message naming the node, instead of failing later in validation or execution.
import type { AnyNodeDefinition } from './node-def.ts';
import { checkWidgetValue } from './widgets.ts';
import { isReservedName } from './reserved-names.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const TYPE = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;
const WIDGET_KINDS = new Set(['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'ENUM', 'SEED', 'PATH']);

/** Problems with one definition (empty when it is sound). */
export function checkDefinition(def: AnyNodeDefinition, pack: string): string[] {
  if (typeof def !== 'object' || def === null) return [`pack "${pack}" lists something that is not a node definition`];
  const where = `node "${String(def.type)}" in pack "${pack}"`;
  const problems: string[] = [];
  if (typeof def.type !== 'string' || !TYPE.test(def.type)) problems.push(`${where}: the type name must be an identifier`);
  if (typeof def.category !== 'string') problems.push(`${where}: category must be a string`);
  if (typeof def.description !== 'string') problems.push(`${where}: description must be a string`);
  if (typeof def.execute !== 'function') problems.push(`${where}: execute must be a function`);
  for (const field of ['inputs', 'widgets', 'outputs'] as const) {
    if (typeof def[field] !== 'object' || def[field] === null) problems.push(`${where}: ${field} must be an object`);
  }
  if (problems.length > 0) return problems;
  for (const field of ['inputs', 'widgets', 'outputs'] as const) {
    for (const name of Object.keys(def[field])) {
      if (isReservedName(name)) problems.push(`${where}: ${field.slice(0, -1)} name "${name}" is reserved (a JavaScript object member)`);
    }
  }
  for (const [name, spec] of Object.entries(def.inputs)) {
    if (!NAME.test(name)) problems.push(`${where}: input name "${name}" is not an identifier`);
    if (typeof spec?.type !== 'string' || spec.type === '') problems.push(`${where}: input "${name}" needs a socket type`);
    if (name in def.widgets) problems.push(`${where}: "${name}" is both an input and a widget`);
    if (spec?.lazy === true && spec.recompute === true) problems.push(`${where}: input "${name}" cannot be both lazy and recompute`);
  }
  for (const [name, spec] of Object.entries(def.outputs)) {
    if (!NAME.test(name)) problems.push(`${where}: output name "${name}" is not an identifier`);
    if (typeof spec?.type !== 'string' || spec.type === '') problems.push(`${where}: output "${name}" needs a socket type`);
  }
  for (const [name, spec] of Object.entries(def.widgets)) {
    if (!NAME.test(name)) problems.push(`${where}: widget name "${name}" is not an identifier`);
    if (!WIDGET_KINDS.has(spec?.kind)) {
      problems.push(`${where}: widget "${name}" has unknown kind ${JSON.stringify(spec?.kind)}`);
      continue;
    }
    const problem = checkWidgetValue(spec, spec.default);
    if (problem !== undefined) problems.push(`${where}: widget "${name}" default: ${problem.message}`);
  }
  return problems;
}
