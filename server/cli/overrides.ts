// --set NODE_ID.INPUT=VALUE and --batch FILE.jsonl into override objects. --set values are text on the command
// line, so they are read as the widget's kind asks (a number for INT/FLOAT/SEED, true/false for BOOLEAN, text
// otherwise); a value that does not fit is left as text for validation to report with its code.
import { KosmosError, type WorkflowIssue } from '../../engine/errors.ts';
import type { Workflow } from '../../engine/format.ts';
import type { Registry } from '../../engine/registry.ts';
import { usage } from './args.ts';

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Split `NODE_ID.INPUT=VALUE` flags (the value stays text until `coerceSets`). */
export function parseSets(sets: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) {
    const eq = set.indexOf('=');
    const key = eq < 0 ? '' : set.slice(0, eq);
    const dot = key.indexOf('.');
    if (eq < 0 || dot <= 0 || dot === key.length - 1) throw usage(`run: --set ${JSON.stringify(set)} must look like NODE_ID.INPUT=VALUE`);
    out[key] = set.slice(eq + 1);
  }
  return out;
}

export function coerceSets(sets: Record<string, string>, workflow: Workflow, registry: Registry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, text] of Object.entries(sets)) {
    const dot = key.indexOf('.');
    const node = workflow.nodes.find((n) => n.id === key.slice(0, dot));
    const spec = node === undefined ? undefined : registry.get(node.type)?.widgets[key.slice(dot + 1)];
    switch (spec?.kind) {
      case 'INT':
      case 'FLOAT':
      case 'SEED':
        out[key] = NUMBER.test(text.trim()) ? Number(text) : text;
        break;
      case 'BOOLEAN':
        out[key] = text === 'true' ? true : text === 'false' ? false : text;
        break;
      default:
        out[key] = text;
    }
  }
  return out;
}

/** One override object per non-empty line; every bad line is reported (code BATCH_INVALID, path FILE:LINE). */
export function parseBatch(text: string, file: string): Record<string, unknown>[] {
  const jobs: Record<string, unknown>[] = [];
  const issues: WorkflowIssue[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      issues.push({ code: 'BATCH_INVALID', path: where, message: `not valid JSON (${(error as Error).message})` });
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      issues.push({ code: 'BATCH_INVALID', path: where, message: 'each line must be an object of "NODE_ID.INPUT": value overrides' });
      return;
    }
    jobs.push(value as Record<string, unknown>);
  });
  if (issues.length > 0) throw new KosmosError('BATCH_INVALID', `${file}: ${issues.length} bad line(s)`, { issues });
  if (jobs.length === 0) throw new KosmosError('BATCH_INVALID', `${file}: no jobs (the file has no non-empty lines)`);
  return jobs;
}
