// Cancellation of long loops: a stable error code the engine and the server recognise.

export class CancelledError extends Error {
  readonly code = 'CANCELLED';
  constructor(message = 'cancelled', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CancelledError';
  }
}

/** Throws when `signal` is aborted: its reason if that is already a coded Error, else a CancelledError. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (!signal?.aborted) return;
  const reason: unknown = signal.reason;
  if (reason instanceof Error && typeof (reason as { code?: unknown }).code === 'string') throw reason;
  throw new CancelledError(`${where}: cancelled`, { cause: reason });
}
