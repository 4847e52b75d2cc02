// Where the CLI writes: injectable so tests can run commands in-process.
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Draw a progress bar (stderr is a terminal). */
  tty: boolean;
  /** Set by the command while it runs a job: Ctrl-C aborts it. */
  signal?: AbortSignal;
}

export function processIO(signal?: AbortSignal): CliIO {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    tty: process.stderr.isTTY === true,
    ...(signal !== undefined ? { signal } : {}),
  };
}

/**
 * Resolves once everything written to `stream` so far has been handed to the OS. A pipe's writes are asynchronous
 * in Node: process.exit() right after writing would cut the output (at 64 KiB, a pipe's buffer). The empty write's
 * callback runs after the writes queued before it; a stream already closed or failing (a reader that went away,
 * EPIPE) has nothing left to deliver.
 */
export function drained(stream: NodeJS.WritableStream & { destroyed?: boolean; writableLength?: number }): Promise<void> {
  if (stream.destroyed === true) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done);
      resolve();
    };
    stream.once('error', done);
    try {
      stream.write('', done);
    } catch {
      done();
    }
  });
}
