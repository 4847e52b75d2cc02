// kosmos-g worker --queue redis://HOST:PORT/DB [--token T] [--data DIR] [--id NAME] [--plugin DIR ...]: runs jobs
// from a `kosmos-g serve --queue` server's Redis until Ctrl-C (which lets the running job finish first).
import { flagList, flagString, parseArgs, usage } from './args.ts';
import type { CliIO } from './io.ts';
import { configuredQueue } from './queue-config.ts';

export async function workerCommand(argv: readonly string[], io: CliIO, until: Promise<void>): Promise<number> {
  const args = parseArgs(
    argv,
    { queue: { kind: 'string' }, token: { kind: 'string' }, data: { kind: 'string' }, id: { kind: 'string' }, plugin: { kind: 'string', repeat: true } },
    'worker',
  );
  if (args.positionals.length > 0) throw usage('worker: takes no arguments');
  const queueText = flagString(args, 'queue') ?? configuredQueue('worker');
  if (queueText === undefined || queueText === 'sqlite') throw usage('worker: --queue redis://HOST:PORT/DB is required (the Redis the server was started with)');
  const id = flagString(args, 'id');
  if (id !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(id)) throw usage('worker: --id takes 1-64 letters, digits, _ . or -');
  const { parseQueueUrl } = await import('../redis/connection.ts');
  const { startWorker } = await import('../redis/worker.ts');
  const plugins = flagList(args, 'plugin');
  const token = flagString(args, 'token') ?? (process.env.KOSMOS_G_WORKER_TOKEN || undefined);
  const worker = await startWorker({
    queue: parseQueueUrl(queueText),
    data: flagString(args, 'data') ?? 'worker-data',
    ...(token !== undefined ? { token } : {}),
    ...(id !== undefined ? { id } : {}),
    ...(plugins.length ? { plugins } : {}),
  });
  io.stdout(`kosmos-g worker ${worker.id} ready\n`);
  await until;
  await worker.close();
  return 0;
}
