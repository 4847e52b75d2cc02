// kosmos-g validate WORKFLOW.json [--json]: exit 0 when valid, 2 with every error when not.
import { KosmosError, formatIssue, type WorkflowIssue } from '../../engine/errors.ts';
import { Executor } from '../../engine/execute.ts';
import { flagBoolean, flagList, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';
import { loadRegistry } from './registry.ts';
import { readWorkflowFile } from './workflow-file.ts';

export async function validateCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { kind: 'boolean' }, plugin: { kind: 'string', repeat: true } }, 'validate');
  if (args.positionals.length !== 1) throw usage('validate: expected exactly one WORKFLOW.json');
  const json = flagBoolean(args, 'json');
  const file = args.positionals[0]!;
  let errors: WorkflowIssue[];
  try {
    const workflow = await readWorkflowFile(file);
    errors = new Executor(await loadRegistry(flagList(args, 'plugin'), io)).validate(workflow);
  } catch (error) {
    if (!(error instanceof KosmosError)) throw error;
    errors = error.issues;
  }
  if (json) {
    io.stdout(`${JSON.stringify({ valid: errors.length === 0, errors: errors.map(jsonIssue) })}\n`);
  } else if (errors.length === 0) {
    io.stdout(`${file}: valid\n`);
  } else {
    for (const issue of errors) io.stderr(`${formatIssue(issue)}\n`);
  }
  return errors.length === 0 ? 0 : 2;
}

function jsonIssue(issue: WorkflowIssue): WorkflowIssue {
  return {
    code: issue.code,
    ...(issue.node !== undefined ? { node: issue.node } : {}),
    ...(issue.input !== undefined ? { input: issue.input } : {}),
    ...(issue.path !== undefined ? { path: issue.path } : {}),
    message: issue.message,
  };
}
