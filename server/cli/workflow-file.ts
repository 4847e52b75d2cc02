// Reading user files for the CLI: a missing, unreadable or oversized file is a KosmosError (exit code 2) naming it.
import { readFile, stat } from 'node:fs/promises';
import { KosmosError } from '../../engine/errors.ts';
import { LIMITS, parseWorkflow, type Workflow } from '../../engine/format.ts';

export async function readUserFile(file: string, what: string, maxBytes: number = LIMITS.maxBytes): Promise<string> {
  let size: number;
  try {
    const info = await stat(file);
    if (info.isDirectory()) throw new KosmosError('FILE_UNREADABLE', `${file}: is a folder, not a ${what}`);
    size = info.size;
  } catch (error) {
    if (error instanceof KosmosError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KosmosError('FILE_NOT_FOUND', `${file}: no such ${what}`);
    throw new KosmosError('FILE_UNREADABLE', `${file}: cannot read the ${what} (${code ?? (error as Error).message})`);
  }
  if (size > maxBytes) throw new KosmosError('FILE_TOO_LARGE', `${file}: ${size} bytes exceeds the limit of ${maxBytes} for a ${what}`);
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KosmosError('FILE_UNREADABLE', `${file}: cannot read the ${what} (${code ?? (error as Error).message})`);
  }
}

export async function readWorkflowFile(file: string): Promise<Workflow> {
  return parseWorkflow(await readUserFile(file, 'workflow file'), file);
}
