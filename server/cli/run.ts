// kosmos-g run WORKFLOW.json [--set NODE_ID.INPUT=VALUE ...] [--batch FILE.jsonl] [--out DIR] [--json] [--quiet]
// Progress goes to stderr: a bar on a terminal, plain lines in a log or pipe (none with --quiet).
// Every job is validated before any runs (bad input: exit 2, nothing written); jobs run one after the other and
// share the cache. Exit 1 when a job fails or is cancelled.
import path from 'node:path';
import { formatIssue, type WorkflowIssue } from '../../engine/errors.ts';
import { Executor } from '../../engine/execute.ts';
import type { RunResult } from '../../engine/events.ts';
import { flagBoolean, flagList, flagString, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';
import { toJsonValue } from './json-values.ts';
import { coerceSets, parseBatch, parseSets } from './overrides.ts';
import { ProgressBar, ProgressLines } from './progress.ts';
import { loadRegistry } from './registry.ts';
import { readUserFile, readWorkflowFile } from './workflow-file.ts';

export async function runCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { set: { kind: 'string', repeat: true }, batch: { kind: 'string' }, out: { kind: 'string' }, json: { kind: 'boolean' }, quiet: { kind: 'boolean' }, plugin: { kind: 'string', repeat: true } }, 'run');
  if (args.positionals.length !== 1) throw usage('run: expected exactly one WORKFLOW.json');
  const json = flagBoolean(args, 'json');
  const file = args.positionals[0]!;
  const sets = parseSets(flagList(args, 'set'));
  const batchFile = flagString(args, 'batch');
  const batch = batchFile === undefined ? [{}] : parseBatch(await readUserFile(batchFile, 'batch file'), batchFile);
  const workflow = await readWorkflowFile(file);
  const registry = await loadRegistry(flagList(args, 'plugin'), io);
  const base = coerceSets(sets, workflow, registry);
  const jobs = batch.map((line) => ({ ...base, ...line }));
  const outDir = path.resolve(flagString(args, 'out') ?? 'out');
  const executor = new Executor(registry, { dataDir: outDir });

  // Validate every job first, so a bad line in a batch stops the batch before anything is written.
  const invalid = jobs.map((overrides) => executor.validate(workflow, overrides));
  if (invalid.some((issues) => issues.length > 0)) {
    invalid.forEach((issues, i) => {
      if (issues.length === 0) return;
      const where = batchFile === undefined ? issues : issues.map((x) => ({ ...x, message: `${batchFile} job ${i + 1}: ${x.message}` }));
      if (json) io.stdout(`${JSON.stringify({ status: 'error', nodes: {}, outputs: {}, errors: where })}\n`);
      else for (const issue of where) io.stderr(`${formatIssue(issue)}\n`);
    });
    return 2;
  }

  const nodeTypes = new Map(workflow.nodes.map((n) => [n.id, n.type]));
  let failed = false;
  for (let i = 0; i < jobs.length; i++) {
    const bar = flagBoolean(args, 'quiet') ? undefined : io.tty ? new ProgressBar(io.stderr) : new ProgressLines(io.stderr);
    const result = await executor.run(workflow, {
      overrides: jobs[i]!,
      outputDir: outDir,
      ...(io.signal !== undefined ? { signal: io.signal } : {}),
      ...(bar !== undefined ? { onEvent: (e) => bar.onEvent(e, nodeTypes) } : {}),
    });
    if (bar instanceof ProgressBar) bar.clear();
    if (result.status !== 'ok') failed = true;
    if (json) io.stdout(`${JSON.stringify(jobJson(result))}\n`);
    else report(result, i, jobs.length, io);
    if (result.status === 'cancelled') break;
  }
  return failed ? 1 : 0;
}

/** The `--json` line for one job: exactly status, nodes, outputs, errors. */
export function jobJson(result: RunResult): { status: string; nodes: RunResult['nodes']; outputs: Record<string, unknown>; errors: WorkflowIssue[] } {
  const outputs: Record<string, unknown> = {};
  for (const [id, out] of Object.entries(result.outputs)) {
    outputs[id] = { files: out.files, ...(out.values !== undefined ? { values: toJsonValue(out.values) } : {}) };
  }
  return { status: result.status, nodes: result.nodes, outputs, errors: result.errors };
}

function report(result: RunResult, index: number, count: number, io: CliIO): void {
  const statuses = Object.values(result.nodes);
  const executed = statuses.filter((n) => n.status === 'executed').length;
  const label = count > 1 ? `job ${index + 1}/${count} ` : '';
  const line = `${label}${result.status} in ${result.seconds.toFixed(2)} s (${executed} executed, ${statuses.length - executed} cached)\n`;
  if (result.status === 'ok') io.stdout(line);
  else io.stderr(line);
  for (const [id, out] of Object.entries(result.outputs)) {
    for (const f of out.files) io.stdout(`  ${id}: wrote ${path.relative(process.cwd(), f.path) || f.path}\n`);
    for (const [name, value] of Object.entries(out.values ?? {})) io.stdout(`  ${id}.${name} = ${JSON.stringify(toJsonValue(value))}\n`);
  }
  for (const issue of result.errors) io.stderr(`${formatIssue(issue)}\n`);
  for (const w of result.warnings) io.stderr(`warning ${w.node}: ${w.message}\n`);
}
