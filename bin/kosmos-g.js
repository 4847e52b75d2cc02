#!/usr/bin/env node
// Launcher: the compiled CLI (dist/, built by `npm install` or scripts/build-cli.ts) when it is up to date with the
// sources, else the TypeScript sources through tsx's loader (no build step needed; just slower to start).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledEntry } from './compiled.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const compiled = compiledEntry(root, argv);
let cli;
if (compiled !== undefined) {
  ({ cli } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ cli } = await import('../server/cli/main.ts'));
}
await cli(argv);
