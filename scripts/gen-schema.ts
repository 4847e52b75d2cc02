// Writes workflows/workflow.schema.json from the zod schema in engine/format.ts (the single source of truth).
// Run: npx tsx scripts/gen-schema.ts   (test/engine/format.test.ts fails when the checked-in file is stale)
import { writeFileAtomicSync } from '../models/io/atomic.ts';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { workflowJsonSchema } from '../engine/format.ts';

export const SCHEMA_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'workflows', 'workflow.schema.json');

export function schemaText(): string {
  return `${JSON.stringify(workflowJsonSchema(), null, 2)}\n`;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileAtomicSync(SCHEMA_PATH, schemaText());
  console.log(`wrote ${path.relative(process.cwd(), SCHEMA_PATH)}`);
}
