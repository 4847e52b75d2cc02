// Ctrl-C for the CLI: the first cancels the running job (it stops at its next cancellation point and the CLI
// reports it, exit 1); the second quits at once, whatever the job is doing.
//
// "At once" needs two mechanisms. While JavaScript runs between steps, Node delivers the signal to our handler:
// after the first, the handler is removed, so the second gets the default action and ends the process on the
// spot. But a node that computes synchronously for minutes (a big matrix product) keeps Node from running any
// handler, and Node has already taken over SIGINT, so both presses would be lost. A terminal's Ctrl-C reaches
// every process of the foreground group: a tiny shell watchdog in our group counts the presses and, at the
// second, ends us with SIGTERM, which no JavaScript needs to run for.
import { spawn, type ChildProcess } from 'node:child_process';

const WATCHDOG = [
  'n=0',
  // The first press is ours to handle; the second ends the CLI even if it cannot run a handler.
  'trap \'n=$((n+1)); if [ "$n" -ge 2 ]; then kill -TERM "$PARENT" 2>/dev/null; exit 0; fi\' INT',
  'trap "exit 0" TERM HUP',
  // Leave when the CLI is gone (checked each second; a press interrupts the sleep at once, being sent to us too).
  'while kill -0 "$PARENT" 2>/dev/null; do sleep 1; done',
].join('\n');

/** Installs the Ctrl-C behaviour for one command; returns how to remove it. */
export function installInterrupt(abort: AbortController, write: (text: string) => void, watchdog = true): () => void {
  const onFirst = (): void => {
    process.off('SIGINT', onFirst);
    write('\ncancelling (Ctrl-C again to quit at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onFirst);
  let dog: ChildProcess | undefined;
  if (watchdog && process.platform !== 'win32') {
    try {
      dog = spawn('/bin/sh', ['-c', WATCHDOG], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PARENT: String(process.pid) } });
      dog.on('error', () => {}); // no shell: the handler alone still covers a responsive process
      dog.unref();
    } catch {
      dog = undefined;
    }
  }
  return () => {
    process.off('SIGINT', onFirst);
    if (dog?.exitCode === null) dog.kill('SIGTERM');
  };
}
