// Errors for users are values with a stable code, a location and a message they can act on. Exceptions that
// escape as anything else are bugs.

/** One problem found in a workflow or in a user's request; `node`/`input` locate it in the graph. */
export interface WorkflowIssue {
  code: string;
  message: string;
  node?: string;
  input?: string;
  /** A JSON path inside the workflow file (e.g. `nodes[2].widgets.seed`) when the problem is a format one. */
  path?: string;
}

export interface KosmosErrorOptions {
  issues?: WorkflowIssue[];
  /** 2 (the default): invalid input (bad file, workflow or flag). 1: a run failed. */
  exitCode?: 1 | 2;
  cause?: unknown;
}

/** A user error: bad file, bad workflow, bad flag, failed run. Carries every issue found. */
export class KosmosError extends Error {
  readonly code: string;
  readonly issues: WorkflowIssue[];
  readonly exitCode: 1 | 2;

  constructor(code: string, message: string, options: KosmosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KosmosError';
    this.code = code;
    this.issues = options.issues ?? [{ code, message }];
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Thrown inside nodes (by ctx.throwIfCancelled / ctx.progress) when the job has been cancelled. */
export class CancelledError extends Error {
  readonly code = 'CANCELLED';
  constructor(message = 'the job was cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** `code node.input: message`: the one-line form the CLI prints for each issue. */
export function formatIssue(issue: WorkflowIssue): string {
  const where = issue.node !== undefined ? (issue.input !== undefined ? `${issue.node}.${issue.input}` : issue.node) : issue.path;
  return where !== undefined && where !== '' ? `${issue.code} ${where}: ${issue.message}` : `${issue.code}: ${issue.message}`;
}

/** The stable code of any thrown value (`code` property of Error-likes), else the fallback. */
export function errorCode(error: unknown, fallback: string): string {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return fallback;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
