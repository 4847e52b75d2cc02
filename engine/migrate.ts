// Migrations bring workflow files written by older versions of kosmos-g to the current format, one version step
// at a time, before the schema check. Version 1 is the first released format, so the table starts empty; a
// future version 2 adds `1: (wf) => ...` here and bumps CURRENT_VERSION.
import { KosmosError } from './errors.ts';

export const CURRENT_VERSION = 1;

/** `migrations[n]` turns a version-n workflow object into a version-(n+1) one. */
export type Migration = (workflow: Record<string, unknown>) => Record<string, unknown>;
export const MIGRATIONS: Readonly<Record<number, Migration>> = {};

/**
 * Check the format tag and version and apply migrations up to `current`. Returns the migrated object (not yet
 * checked against the schema). Throws WORKFLOW_FORMAT / WORKFLOW_VERSION.
 */
export function migrateWorkflow(
  raw: unknown,
  where = 'workflow',
  migrations: Readonly<Record<number, Migration>> = MIGRATIONS,
  current = CURRENT_VERSION,
): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw versionError('WORKFLOW_FORMAT', `${where}: a workflow is a JSON object with "format": "kosmos-g/workflow"`);
  }
  const wf = raw as Record<string, unknown>;
  if (wf.format !== 'kosmos-g/workflow') {
    throw versionError('WORKFLOW_FORMAT', `${where}: "format" must be "kosmos-g/workflow" (found ${JSON.stringify(wf.format) ?? 'nothing'})`);
  }
  const version = wf.version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw versionError('WORKFLOW_VERSION', `${where}: "version" must be a positive integer (found ${JSON.stringify(version) ?? 'nothing'})`);
  }
  if (version > current) {
    throw versionError('WORKFLOW_VERSION', `${where}: version ${version} was written by a newer kosmos-g (this one reads up to ${current})`);
  }
  let out = wf;
  for (let v = version; v < current; v++) {
    const step = migrations[v];
    if (step === undefined) throw versionError('WORKFLOW_VERSION', `${where}: no migration from version ${v} to ${v + 1}`);
    out = { ...step(out), version: v + 1 };
  }
  return out;
}

function versionError(code: string, message: string): KosmosError {
  return new KosmosError(code, message, { issues: [{ code, message, path: code === 'WORKFLOW_VERSION' ? 'version' : 'format' }] });
}
