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
