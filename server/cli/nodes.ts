// kosmos-g nodes [--json]: the catalogue of installed node types.
import type { WidgetSpec } from '../../engine/node-def.ts';
import { flagBoolean, flagList, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';
import { loadRegistry } from './registry.ts';

export async function nodesCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { kind: 'boolean' }, plugin: { kind: 'string', repeat: true } }, 'nodes');
  if (args.positionals.length > 0) throw usage('nodes: takes no arguments');
  const catalogue = (await loadRegistry(flagList(args, 'plugin'), io)).catalogue();
  if (flagBoolean(args, 'json')) {
    io.stdout(`${JSON.stringify(catalogue, null, 2)}\n`);
    return 0;
  }
  const byCategory = [...catalogue.nodes].sort((a, b) => a.category.localeCompare(b.category) || a.type.localeCompare(b.type));
  let category = '';
  for (const node of byCategory) {
    if (node.category !== category) {
      category = node.category;
      io.stdout(`\n${category}\n`);
    }
    const inputs = Object.entries(node.inputs).map(([n, s]) => `${n}: ${s.type}${s.optional ? '?' : ''}`);
    const widgets = Object.entries(node.widgets).map(([n, s]) => `${n} = ${widgetDefault(s)}`);
    const outputs = Object.entries(node.outputs).map(([n, s]) => `${n}: ${s.type}`);
    io.stdout(`  ${node.type}${node.output ? ' (output)' : ''} — ${node.description}\n`);
    if (inputs.length + widgets.length > 0) io.stdout(`      in:  ${[...inputs, ...widgets].join(', ')}\n`);
    if (outputs.length > 0) io.stdout(`      out: ${outputs.join(', ')}\n`);
  }
  return 0;
}

function widgetDefault(spec: WidgetSpec): string {
  return `${JSON.stringify(spec.default)} (${spec.kind}${spec.kind === 'ENUM' ? `: ${spec.options.join('|')}` : ''})`;
}
