// Errors raised while running a component say which component and entry point they came from, keeping the
// original `code` (e.g. SHAPE_MISMATCH) so callers can still tell them apart.

import type { Module } from '../nn/module.ts';

export class RunError extends Error {
  constructor(
    readonly code: string,
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

export function wrapRunError(model: Module, entry: string, err: unknown): RunError {
  if (err instanceof RunError) return err;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'RUN_FAILED';
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  return new RunError(code, `${model.constructor.name} '${entry}': ${msg}`, err);
}

export async function inRunContext<R>(model: Module, entry: string, fn: () => R | Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    throw wrapRunError(model, entry, err);
  }
}
