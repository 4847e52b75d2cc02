// kosmos-g doctor PATH [--json]: for a model folder or weights file, what the loaders would read, infer and ignore
// (models/loaders/doctor.ts), printed per component. Exit 0 when every component would load, 1 when one would not.
import { diagnoseModelPath, type ComponentReport } from '../../models/loaders/doctor.ts';
import { flagBoolean, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';

export async function doctorCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { kind: 'boolean' } }, 'doctor');
  if (args.positionals.length !== 1) throw usage('doctor: give one model folder or weights file');
  const report = await diagnoseModelPath(args.positionals[0]!);
  const failed = report.components.some((c) => c.errors.length > 0);
  if (flagBoolean(args, 'json')) {
    io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    return failed ? 1 : 0;
  }
  io.stdout(`${report.path}: ${report.layout}\n`);
  for (const c of report.components) printComponent(c, io);
  io.stdout(failed ? '\nsome components would not load (see "error" lines)\n' : '\nevery component would load\n');
  return failed ? 1 : 0;
}

function printComponent(c: ComponentReport, io: CliIO): void {
  io.stdout(`\n${c.kind} (${c.dir})\n`);
  const lines: [string, string[]][] = [
    ['loaded', c.loaded],
    ['inferred', c.inferred],
    ['ignored', c.ignored],
    ['error', c.errors],
  ];
  for (const [label, items] of lines) for (const item of items) io.stdout(`  ${label.padEnd(8)} ${item}\n`);
}
