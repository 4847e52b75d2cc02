// The `kosmos-g` command line: run, validate, nodes, export, serve, worker, doctor. Exit codes: 0 ok, 1 a run failed, 2 invalid input
// (bad file, bad workflow, bad flag). User errors print one line per issue (`code node.input: message`), never a
// stack trace.
import { pathToFileURL } from 'node:url';
import { KosmosError, errorCode, errorMessage, formatIssue } from '../../engine/errors.ts';
import { drained, processIO, type CliIO } from './io.ts';
import { runCommand } from './run.ts';
import { validateCommand } from './validate.ts';
import { nodesCommand } from './nodes.ts';
import { serveCommand } from './serve.ts';
import { workerCommand } from './worker.ts';
import { exportCommand } from './export.ts';
import { installInterrupt } from './interrupt.ts';

export const HELP = `kosmos-g — KOSMOS-G as a node graph

usage:
  kosmos-g run WORKFLOW.json [--set NODE_ID.INPUT=VALUE ...] [--batch FILE.jsonl] [--out DIR] [--json] [--quiet]
  kosmos-g validate WORKFLOW.json [--json]
  kosmos-g nodes [--json]
  kosmos-g export --format comfy-api WORKFLOW.json   (ComfyUI's API format, on stdout)
  kosmos-g serve [--port N] [--host HOST] [--data DIR] [--token TOKEN] [--open-default]
                 [--queue redis://HOST:PORT/DB] [--worker-token TOKEN]
  kosmos-g worker --queue redis://HOST:PORT/DB [--token TOKEN] [--data DIR] [--id NAME] [--plugin DIR ...]
  kosmos-g doctor MODEL_FOLDER_OR_FILE [--json]   what the loaders read, infer and ignore there

  run, validate, nodes and export also take --plugin DIR (repeatable) to load extra node packs.
  run shows progress on stderr: a bar on a terminal, one line per node and step otherwise (--quiet: none).
  Ctrl-C cancels a run (exit 1); a second Ctrl-C quits at once.
exit codes: 0 ok, 1 a run failed, 2 invalid input
`;

/** Run one command line; resolves to the exit code. `until` ends a `serve` (default: SIGINT/SIGTERM). */
export async function main(argv: readonly string[], io: CliIO = processIO(), until?: Promise<void>): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await runCommand(rest, io);
      case 'validate':
        return await validateCommand(rest, io);
      case 'nodes':
        return await nodesCommand(rest, io);
      case 'export':
        return await exportCommand(rest, io);
      case 'serve':
        return await serveCommand(rest, io, until ?? stopSignal());
      case 'worker':
        return await workerCommand(rest, io, until ?? stopSignal());
      case 'doctor':
        // Lazily: the model loaders it inspects are not needed by the other commands.
        return await (await import('./doctor.ts')).doctorCommand(rest, io);
      case undefined:
        io.stderr(`USAGE: no command given\n${HELP}`);
        return 2;
      case 'help':
      case '--help':
      case '-h':
        io.stdout(HELP);
        return 0;
      default:
        io.stderr(`USAGE: unknown command ${JSON.stringify(command)}\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof KosmosError) {
      for (const issue of error.issues) io.stderr(`${formatIssue(issue)}\n`);
      return error.exitCode;
    }
    // Errors with a code (file system, server start) are still the user's to fix: no stack trace for those.
    const code = errorCode(error, '');
    if (code !== '') {
      io.stderr(`${code}: ${errorMessage(error)}\n`);
      return 2;
    }
    io.stderr(`INTERNAL: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

/** Entry point for the process: Ctrl-C cancels a running job, a second Ctrl-C quits at once (interrupt.ts). */
export async function cli(argv: readonly string[]): Promise<never> {
  const abort = new AbortController();
  // `serve` and `worker` stop on their own signal (a worker finishes its running job; a second Ctrl-C quits); only a
  // run has a job to cancel and may block the event loop.
  const uninstall = argv[0] !== 'serve' && argv[0] !== 'worker' ? installInterrupt(abort, (t) => void process.stderr.write(t), argv[0] === 'run') : () => {};
  const code = await main(argv, processIO(abort.signal));
  uninstall();
  // Exit only once stdout and stderr have delivered everything (piped output would be cut otherwise).
  await Promise.all([drained(process.stdout), drained(process.stderr)]);
  process.exit(code);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await cli(process.argv.slice(2));
}
