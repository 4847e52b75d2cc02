// kosmos-g export --format comfy-api WORKFLOW.json: the workflow in ComfyUI's API format on stdout, for ComfyUI
// clients and tools that take a prompt (POST /prompt {"prompt": ...} runs it). Only a valid workflow is exported
// (exit 2 with every issue otherwise): links are resolved through bypassed nodes and muted nodes left out, as the
// engine runs them, and every widget is written out with its default filled in.
import { compileWorkflow } from '../../engine/compile.ts';
import { KosmosError } from '../../engine/errors.ts';
import { Executor } from '../../engine/execute.ts';
import { normaliseCatalogue } from '../engine-port.ts';
import { toApiPrompt } from '../comfy-format.ts';
import { flagList, flagString, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';
import { loadRegistry } from './registry.ts';
import { readWorkflowFile } from './workflow-file.ts';

export const EXPORT_FORMATS = ['comfy-api'] as const;

export async function exportCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { format: { kind: 'string' }, plugin: { kind: 'string', repeat: true } }, 'export');
  if (args.positionals.length !== 1) throw usage('export: expected exactly one WORKFLOW.json');
  const format = flagString(args, 'format') ?? 'comfy-api';
  if (!(EXPORT_FORMATS as readonly string[]).includes(format)) throw usage(`export: --format ${format}: expected one of ${EXPORT_FORMATS.join(', ')}`);
  const file = args.positionals[0]!;
  const workflow = await readWorkflowFile(file);
  const registry = await loadRegistry(flagList(args, 'plugin'), io);
  const issues = new Executor(registry).validate(workflow);
  if (issues.length > 0) throw new KosmosError(issues[0]!.code, `${file}: ${issues.length} problem(s)`, { issues });
  const { graph } = compileWorkflow(workflow, registry);
  const titles = new Map(workflow.nodes.map((n) => [n.id, n.title]));
  const nodes = [...graph.nodes.values()].map((n) => {
    const title = titles.get(n.id);
    return { id: n.id, type: n.type, widgets: n.widgets, links: n.links, ...(title !== undefined ? { title } : {}) };
  });
  io.stdout(`${JSON.stringify(toApiPrompt(nodes, normaliseCatalogue(registry.catalogue())), null, 2)}\n`);
  return 0;
}
