// kosmos-g export --format comfy-api WORKFLOW.json: the workflow in ComfyUI's API format on stdout, for ComfyUI
// clients and tools that take a prompt (POST /prompt {"prompt": ...} runs it). Only a valid workflow is exported
// (exit 2 with every issue otherwise); see comfy-export.ts.
import { KosmosError } from '../../engine/errors.ts';
import { Executor } from '../../engine/execute.ts';
import { exportApiPrompt } from '../comfy-export.ts';
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
  io.stdout(`${JSON.stringify(exportApiPrompt(workflow, registry), null, 2)}\n`);
  return 0;
}
