#!/usr/bin/env node
// Launcher: the CLI is TypeScript; tsx's loader runs it directly (no build step).
import { register } from 'tsx/esm/api';

register();
const { cli } = await import('../server/cli/main.ts');
await cli(process.argv.slice(2));
