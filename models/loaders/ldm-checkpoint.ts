// Single-file LDM checkpoints (the `v1-5-pruned-emaonly.safetensors` kind): one state dict holding the U-Net
// under `model.diffusion_model.`, the VAE under `first_stage_model.` and the CLIP text encoder under
// `cond_stage_model.transformer.`. Split and rename into the three diffusers state dicts (spec §4.1).

import type { HostTensor } from '../ops/ops.ts';
import { loadSafetensors } from '../io/safetensors.ts';
import { LoaderError } from './errors.ts';
import { mapLdmUnetKey } from './ldm-unet.ts';
import { countLdmUpBlocks, mapLdmVaeKey, squeezeAttentionWeight } from './ldm-vae.ts';

export interface ConvertedCheckpoint {
  unet: Map<string, HostTensor>;
  vae: Map<string, HostTensor>;
  textEncoder: Map<string, HostTensor>;
  /** Keys inside a known section whose structure was not recognised (a different architecture?). */
  unmapped: string[];
  /** Keys outside the three sections (EMA copies, schedule buffers, …), deliberately skipped. */
  ignored: string[];
}

const UNET_PREFIX = 'model.diffusion_model.';
const VAE_PREFIX = 'first_stage_model.';
const TEXT_PREFIX = 'cond_stage_model.transformer.';

/** True when the keys look like an LDM single-file checkpoint (any U-Net key under `model.diffusion_model.`). */
export function isLdmCheckpoint(keys: Iterable<string>): boolean {
  for (const k of keys) if (k.startsWith(UNET_PREFIX)) return true;
  return false;
}

export function convertLdmCheckpoint(tensors: Map<string, HostTensor>): ConvertedCheckpoint {
  const out: ConvertedCheckpoint = { unet: new Map(), vae: new Map(), textEncoder: new Map(), unmapped: [], ignored: [] };
  const vaeKeys = [...tensors.keys()].filter((k) => k.startsWith(VAE_PREFIX)).map((k) => k.slice(VAE_PREFIX.length));
  const upBlocks = countLdmUpBlocks(vaeKeys);
  for (const [key, tensor] of tensors) {
    if (key.startsWith(UNET_PREFIX)) {
      const mapped = mapLdmUnetKey(key.slice(UNET_PREFIX.length));
      if (mapped) out.unet.set(mapped, tensor);
      else out.unmapped.push(key);
    } else if (key.startsWith(VAE_PREFIX)) {
      const mapped = mapLdmVaeKey(key.slice(VAE_PREFIX.length), upBlocks);
      if (mapped) out.vae.set(mapped, squeezeAttentionWeight(mapped, tensor));
      else if (key.startsWith(`${VAE_PREFIX}loss.`)) out.ignored.push(key);
      else out.unmapped.push(key);
    } else if (key.startsWith(TEXT_PREFIX)) {
      const rest = key.slice(TEXT_PREFIX.length);
      // transformers < 4.x stored the CLIP text model without the `text_model.` level.
      const mapped = rest.startsWith('text_model.') ? rest : `text_model.${rest}`;
      if (mapped.endsWith('position_ids')) out.ignored.push(key);
      else out.textEncoder.set(mapped, tensor);
    } else {
      out.ignored.push(key);
    }
  }
  if (out.unet.size === 0) {
    throw new LoaderError('NOT_LDM_CHECKPOINT', `not an LDM checkpoint: no U-Net keys under "${UNET_PREFIX}"`);
  }
  return out;
}

/** Reads a single-file `.safetensors` LDM checkpoint and converts it. */
export async function loadLdmCheckpoint(file: string): Promise<ConvertedCheckpoint> {
  if (!file.endsWith('.safetensors')) {
    throw new LoaderError('UNSUPPORTED_WEIGHTS_FORMAT', `${file}: only .safetensors single-file checkpoints are read (convert .ckpt first)`);
  }
  const tensors = await loadSafetensors(file);
  try {
    return convertLdmCheckpoint(tensors);
  } catch (e) {
    if (e instanceof LoaderError) throw new LoaderError(e.code, `${file}: ${e.message}`);
    throw e;
  }
}
