// HTTP errors as values: every failure a client can cause becomes `{error: {code, message}}` with a 4xx status.
import type { NextFunction, Request, Response } from 'express';

export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details?: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export function sendError(res: Response, status: number, code: string, message: string, details?: unknown): void {
  if (res.headersSent) return;
  res.status(status).json({ error: { code, message, ...(details === undefined ? {} : { details }) } });
}

/** Maps body-parser failures (bad JSON, too large) and our HttpErrors onto the JSON error shape. */
export function errorMiddleware(err: unknown, req: Request, res: Response, _next: NextFunction): void {
  if (err instanceof HttpError) return sendError(res, err.status, err.code, err.message, err.details);
  const e = err as { type?: string; status?: number; message?: string; code?: string; issues?: unknown };
  const where = `${req.method} ${req.path}`;
  if (e?.type === 'entity.parse.failed') return sendError(res, 400, 'BAD_JSON', `${where}: request body is not valid JSON`);
  if (e?.type === 'entity.too.large') return sendError(res, 413, 'BODY_TOO_LARGE', `${where}: request body exceeds the size limit`);
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    return sendError(res, e.status, 'BAD_REQUEST', `${where}: ${e.message ?? 'bad request'}`);
  }
  // A user error from the engine (KosmosError) carries a code and issues.
  if (typeof e?.code === 'string' && Array.isArray(e.issues)) {
    return sendError(res, 400, e.code, `${where}: ${e.message}`, { issues: e.issues });
  }
  console.error(`[kosmos-g server] ${where}:`, err);
  sendError(res, 500, 'INTERNAL', `${where}: internal error`);
}
