// The entry of the CLI's compiled bundle (scripts/build-cli.ts writes it to dist/): the CLI with the built-in node
// packs linked in, so a command starts without tsx and without resolving ~240 TypeScript modules one by one.
// Everything else the CLI does is the same code as under tsx.
import { linkBuiltinPacks } from '../../engine/registry.ts';
import * as core from '../../nodes/core/index.ts';
import * as kosmos from '../../nodes/kosmos/index.ts';
import * as diffusion from '../../nodes/diffusion/index.ts';
import * as training from '../../training-nodes/index.ts';

linkBuiltinPacks({ 'nodes/core': core, 'nodes/kosmos': kosmos, 'nodes/diffusion': diffusion, 'training-nodes': training });

export { cli } from './main.ts';
