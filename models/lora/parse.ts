// Reads a LoRA state dict in any of the three formats of spec §5.2 into one list of low-rank updates keyed by
// the diffusers parameter they change:
//   kohya             lora_unet_<module_with_underscores>.{lora_down.weight, lora_up.weight, alpha}  (+ lora_te_)
//   diffusers legacy  [unet.]<path>.processor.to_{q,k,v,out}_lora.{down,up}.weight; <prefix>.<path>.lora.{down,up}.weight
//   PEFT              [unet.|text_encoder.|base_model.model.]<path>.lora_{A,B}[.<adapter>].weight, alpha from
//                     `<prefix>.<path>.alpha` (diffusers network_alphas), the adapter config's lora_alpha, or rank.
// A missing alpha means alpha = rank (scale 1). Anything that cannot be read or placed is reported by name.

import type { HostTensor } from '../ops/ops.ts';
import { ModuleNameResolver, type LoraComponent } from './resolve.ts';

export interface LoraEntry {
  component: LoraComponent;
  /** The diffusers / transformers parameter this update changes, e.g. `…attn1.to_q.weight`. */
  targetKey: string;
  /** [rank, in] or [rank, in, kh, kw]. */
  down: HostTensor;
  /** [out, rank] or [out, rank, 1, 1]. */
  up: HostTensor;
  alpha: number;
  rank: number;
  /** The module name as written in the file. */
  sourceName: string;
}

export type LoraFormat = 'kohya' | 'diffusers' | 'peft';

export interface LoraUnknown {
  key: string;
  reason: string;
}

export interface LoraSet {
  format: LoraFormat | 'mixed' | 'empty';
  entries: LoraEntry[];
  /** Keys or module names that were not applied, with why (unknown format, no such module, half a pair, …). */
  unknown: LoraUnknown[];
}

export interface ParseLoraOptions {
  /** Real U-Net parameter keys (from `unet.namedParameters()`, a checkpoint, or sd15_keys.json). */
  unetKeys: Iterable<string> | Map<string, readonly number[]>;
  /** Real text-encoder keys; without them text-encoder updates are reported as unknown. */
  textEncoderKeys?: Iterable<string> | Map<string, readonly number[]>;
  /** The PEFT adapter config's `lora_alpha`, used where the file has no per-module alpha. */
  alpha?: number;
}

export class LoraError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  component: LoraComponent;
  format: LoraFormat;
  /** kohya underscore name or dotted module path. */
  name: string;
  down?: HostTensor;
  up?: HostTensor;
  alpha?: number;
  keys: string[];
}

type Role = 'down' | 'up' | 'alpha';

interface Classified {
  component: LoraComponent | 'unsupported';
  format: LoraFormat;
  name: string;
  role: Role | 'dora_scale';
}

function componentOf(prefix: string | undefined): LoraComponent {
  return prefix === 'text_encoder' ? 'text_encoder' : 'unet';
}

/** Which format, module and role a key belongs to, or undefined for a key no format explains. */
export function classifyLoraKey(key: string): Classified | undefined {
  let m = /^lora_(unet|te|te1|te2)_(.+?)\.(lora_down\.weight|lora_up\.weight|alpha|dora_scale)$/.exec(key);
  if (m) {
    const component = m[1] === 'unet' ? 'unet' : m[1] === 'te' ? 'text_encoder' : 'unsupported';
    const role = m[3] === 'lora_down.weight' ? 'down' : m[3] === 'lora_up.weight' ? 'up' : (m[3] as 'alpha' | 'dora_scale');
    return { component, format: 'kohya', name: m[2]!, role };
  }
  m = /^(?:(unet|text_encoder)\.)?(.+)\.processor\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/.exec(key);
  if (m) {
    const proj = m[3] === 'to_out' ? 'to_out.0' : m[3]!;
    return { component: componentOf(m[1]), format: 'diffusers', name: `${m[2]}.${proj}`, role: m[4] as Role };
  }
  // diffusers 0.21 text-encoder attention LoRA: `text_encoder.<…>.self_attn.to_q_lora.down.weight` patches q_proj.
  m = /^text_encoder\.(.+)\.(to_q|to_k|to_v|to_out)_lora\.(down|up)\.weight$/.exec(key);
  if (m) {
    const proj = { to_q: 'q_proj', to_k: 'k_proj', to_v: 'v_proj', to_out: 'out_proj' }[m[2] as 'to_q'];
    return { component: 'text_encoder', format: 'diffusers', name: `${m[1]}.${proj}`, role: m[3] as Role };
  }
  m = /^(?:(unet|text_encoder)\.)?(.+)\.(?:lora|lora_linear_layer)\.(down|up)\.weight$/.exec(key);
  if (m) return { component: componentOf(m[1]), format: 'diffusers', name: m[2]!, role: m[3] as Role };
  m = /^(?:(unet|text_encoder)\.|base_model\.model\.)?(.+)\.lora_(A|B)(?:\.[A-Za-z0-9_-]+)?\.weight$/.exec(key);
  if (m) return { component: componentOf(m[1]), format: 'peft', name: m[2]!, role: m[3] === 'A' ? 'down' : 'up' };
  m = /^(?:(unet|text_encoder)\.)?(.+)\.alpha$/.exec(key);
  if (m) return { component: componentOf(m[1]), format: 'peft', name: m[2]!, role: 'alpha' };
  return undefined;
}

export function parseLora(tensors: Map<string, HostTensor>, options: ParseLoraOptions): LoraSet {
  const unknown: LoraUnknown[] = [];
  const pending = new Map<string, Pending>();
  const formats = new Set<LoraFormat>();
  for (const [key, tensor] of tensors) {
    const c = classifyLoraKey(key);
    if (!c) {
      unknown.push({ key, reason: 'not a kohya, diffusers or PEFT LoRA key' });
      continue;
    }
    if (c.component === 'unsupported') {
      unknown.push({ key, reason: 'SDXL text encoders (lora_te1_/lora_te2_) are not part of SD 1.5' });
      continue;
    }
    if (c.role === 'dora_scale') {
      unknown.push({ key, reason: 'DoRA (dora_scale) is not supported; the plain LoRA part is applied' });
      continue;
    }
    // kohya alphas pair with kohya weights by name; network_alphas (`unet.<path>.alpha`) pair with any dotted form.
    const id = `${c.component}|${c.format === 'kohya' ? 'k' : 'd'}|${c.name}`;
    let p = pending.get(id);
    if (!p) {
      p = { component: c.component, format: c.format, name: c.name, keys: [] };
      pending.set(id, p);
    }
    p.keys.push(key);
    if (c.role === 'alpha') p.alpha = tensor.data[0];
    else {
      p[c.role] = tensor;
      p.format = c.format;
      formats.add(c.format);
    }
  }

  const resolvers: Record<LoraComponent, ModuleNameResolver | undefined> = {
    unet: new ModuleNameResolver(options.unetKeys),
    text_encoder: options.textEncoderKeys ? new ModuleNameResolver(options.textEncoderKeys) : undefined,
  };
  const entries: LoraEntry[] = [];
  for (const p of pending.values()) {
    const label = `${p.component} module '${p.name}' (${p.keys.join(', ')})`;
    if (!p.down || !p.up) {
      unknown.push({ key: p.keys[0]!, reason: `${label}: ${p.down ? 'up' : p.up ? 'down' : 'down and up'} weight missing` });
      continue;
    }
    const resolver = resolvers[p.component];
    if (!resolver) {
      unknown.push({ key: p.keys[0]!, reason: `${label}: no text-encoder keys were given to place it` });
      continue;
    }
    const targetKey = p.format === 'kohya' ? resolver.fromKohyaName(p.name, p.component) : resolver.fromPath(p.name);
    if (!targetKey) {
      const why = p.format === 'kohya' && resolver.isAmbiguous(p.name) ? 'the name fits more than one module' : 'the model has no such module';
      unknown.push({ key: p.keys[0]!, reason: `${label}: ${why}` });
      continue;
    }
    const rank = p.down.shape[0]!;
    if (p.up.shape[1] !== rank) {
      throw new LoraError(
        'LORA_BAD_SHAPE',
        `LoRA ${label}: down [${p.down.shape.join(', ')}] and up [${p.up.shape.join(', ')}] disagree on the rank`,
      );
    }
    const alpha = p.alpha ?? options.alpha ?? rank;
    entries.push({ component: p.component, targetKey, down: p.down, up: p.up, alpha, rank, sourceName: p.name });
  }
  const format = formats.size === 0 ? 'empty' : formats.size === 1 ? [...formats][0]! : 'mixed';
  return { format, entries, unknown };
}
