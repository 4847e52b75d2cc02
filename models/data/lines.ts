// Reading line-oriented dataset files (JSONL, TSV) with line numbers, so a skipped row can be named.
import { existsSync, readFileSync } from 'node:fs';
import { DataError } from './errors.ts';

export interface NumberedLine {
  line: number;
  text: string;
}

export function readLines(file: string): NumberedLine[] {
  if (!existsSync(file)) throw new DataError('DATA_NOT_FOUND', `${file}: no such file`);
  const out: NumberedLine[] = [];
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((text, i) => {
      if (text.trim() !== '') out.push({ line: i + 1, text });
    });
  return out;
}

/** JSON object of one JSONL line, or a reason it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | string {
  try {
    const v: unknown = JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'not a JSON object';
    return v as Record<string, unknown>;
  } catch (e) {
    return `invalid JSON (${(e as Error).message})`;
  }
}

export function stringField(row: Record<string, unknown>, name: string): string | undefined {
  const v = row[name];
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

/** Which reader a file needs, from its extension. */
export function lineFormat(file: string): 'jsonl' | 'tsv' {
  const lower = file.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.json')) return 'jsonl';
  if (lower.endsWith('.tsv') || lower.endsWith('.txt')) return 'tsv';
  throw new DataError('DATA_FORMAT', `${file}: unknown dataset format (expected .jsonl or .tsv)`);
}
