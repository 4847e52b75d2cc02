// Widgets and helpers the kosmos nodes share.
import { KosmosError } from '../../engine/errors.ts';
export { BACKEND_WIDGET, asBackend } from '../../models/runtime/backend-choice.ts';
import { CONFIG_CHOICES, readWeightFile, type ConfigChoice, type WeightFile } from '../../models/kosmosg/weights.ts';
import type { ImageValue } from '../../models/image.ts';

export const CONFIG_WIDGET = {
  kind: 'ENUM',
  options: ['small', 'real', 'from-file'],
  default: 'small',
  description: "'real': KOSMOS-G / SD 1.5 sizes; 'small': tiny test model; 'from-file': the config stored in the file, else inferred from its shapes",
} as const;

export const PATH_WIDGET = {
  kind: 'PATH',
  default: '',
  mode: 'read',
  extensions: ['.safetensors', '.pt', '.pth', '.bin', '.ckpt'],
  description:
    'A .safetensors or PyTorch .pt file (a KOSMOS-G checkpoint such as checkpoint_final.pt, or the part alone) or a folder holding one; empty: seeded random weights',
} as const;

export const SEED_WIDGET = { kind: 'SEED', default: 0, description: 'Seed of the random weights when the path is empty' } as const;

/** Up to four IMAGE inputs, taken in order for the prompt's `<i>` placeholders (each may be a batch). */
export const IMAGE_INPUTS = {
  image_1: { type: 'IMAGE', optional: true, description: 'Image(s) for the first <i> placeholder(s)' },
  image_2: { type: 'IMAGE', optional: true },
  image_3: { type: 'IMAGE', optional: true },
  image_4: { type: 'IMAGE', optional: true },
} as const;

export function kosmosError(code: string, message: string): KosmosError {
  return new KosmosError(code, message, { exitCode: 1 });
}

export function asConfig(name: string): ConfigChoice {
  if (!(CONFIG_CHOICES as readonly string[]).includes(name)) throw kosmosError('UNKNOWN_CONFIG', `config '${name}' is not one of ${CONFIG_CHOICES.join(', ')}`);
  return name as ConfigChoice;
}

/** Read the weights, or undefined for an empty path (a random model of the preset); 'from-file' needs a path. */
export async function weightsOrRandom(path: string, config: ConfigChoice, what: string): Promise<WeightFile | undefined> {
  if (path.trim() !== '') return readWeightFile(path);
  if (config === 'from-file') throw kosmosError('MISSING_PATH', `${what}: config 'from-file' needs a path`);
  return undefined;
}

export function collectImages(args: Partial<Record<'image_1' | 'image_2' | 'image_3' | 'image_4', ImageValue | undefined>>): ImageValue[] {
  return [args.image_1, args.image_2, args.image_3, args.image_4].filter((i): i is ImageValue => i !== undefined && i.batch > 0);
}
