// Maps LoRA module names back to real parameter keys. kohya names are the module path with '.' → '_', which is
// ambiguous (`to_out_0` vs `to_out.0`), so they are resolved against the set of real keys of the model (read
// from `module.namedParameters()` or a checkpoint). LDM-style kohya names (`lora_unet_input_blocks_1_1_…`) are
// first remapped to diffusers block names (spec §4.1).

import { mapLdmUnetUnderscoreName } from '../loaders/ldm-unet.ts';

export type LoraComponent = 'unet' | 'text_encoder';

export class ModuleNameResolver {
  /** module path (key without `.weight`) by its underscore spelling. */
  private readonly byUnderscore = new Map<string, string>();
  /** Underscore spellings two different module paths share: never guessed. */
  private readonly ambiguous = new Set<string>();
  private readonly weights: Map<string, readonly number[] | undefined>;

  /** `keys`: real parameter keys, optionally with their shapes. */
  constructor(keys: Iterable<string> | Map<string, readonly number[]>) {
    this.weights = new Map();
    if (keys instanceof Map) for (const [k, s] of keys) this.weights.set(k, s);
    else for (const k of keys) this.weights.set(k, undefined);
    for (const key of this.weights.keys()) {
      if (!key.endsWith('.weight')) continue;
      const path = key.slice(0, -'.weight'.length);
      const name = path.replace(/\./g, '_');
      const seen = this.byUnderscore.get(name);
      if (seen !== undefined && seen !== path) this.ambiguous.add(name);
      this.byUnderscore.set(name, path);
    }
  }

  /** The weight key of a dotted module path, if the model has it. */
  fromPath(path: string): string | undefined {
    const key = `${path}.weight`;
    return this.weights.has(key) ? key : undefined;
  }

  /** The weight key of a kohya module name (diffusers or LDM spelling), if the model has it. */
  fromKohyaName(name: string, component: LoraComponent): string | undefined {
    if (this.ambiguous.has(name)) return undefined;
    const direct = this.byUnderscore.get(name);
    if (direct) return `${direct}.weight`;
    if (component === 'unet') {
      const mapped = mapLdmUnetUnderscoreName(name);
      const path = mapped && !this.ambiguous.has(mapped) ? this.byUnderscore.get(mapped) : undefined;
      if (path) return `${path}.weight`;
    }
    return undefined;
  }

  /** True when `name` is the underscore spelling of more than one module path of this model. */
  isAmbiguous(name: string): boolean {
    return this.ambiguous.has(name);
  }

  /** The shape of a key, when the resolver was built with shapes. */
  shapeOf(key: string): readonly number[] | undefined {
    return this.weights.get(key);
  }
}
