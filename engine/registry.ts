// The registry holds every node definition, from the built-in packs and from plugin folders. Loading is
// isolated per pack: a pack that throws (or defines a type another pack already defines) is reported in
// `loadErrors` and the others still load.
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyNodeDefinition, InputSpec, NodePack, OutputSpec, WidgetSpec } from './node-def.ts';
import { KosmosError, errorMessage } from './errors.ts';
import { checkDefinition } from './definition-check.ts';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Built-in pack folders, relative to the repository root; folders that don't exist yet are skipped silently. */
export const BUILTIN_PACKS = ['nodes/core', 'nodes/kosmos', 'nodes/diffusion', 'training-nodes'] as const;

/**
 * Built-in pack modules already linked into the program (the CLI's compiled bundle, server/cli/compiled.ts), by
 * pack folder: loading them needs no import() of their TypeScript sources.
 */
const linkedBuiltins = new Map<string, Record<string, unknown>>();

export function linkBuiltinPacks(modules: Partial<Record<(typeof BUILTIN_PACKS)[number], Record<string, unknown>>>): void {
  for (const [rel, mod] of Object.entries(modules)) if (mod !== undefined) linkedBuiltins.set(path.join(REPO_ROOT, rel), mod);
}

export const PLUGINS_ENV = 'KOSMOS_G_PLUGINS';
/** Comma-separated built-in pack folder names to load (e.g. `core`); default all. Speeds up scripts and tests. */
export const BUILTINS_ENV = 'KOSMOS_G_BUILTINS';
export const CONFIG_FILE = 'kosmos-g.config.json';

export interface RegistryLoadOptions {
  /** Extra plugin folders (or files) to load after the built-ins. */
  plugins?: string[];
  /** Load the built-in packs (default true), or only those named (folder names: 'core', 'kosmos', ...). */
  builtins?: boolean | string[];
  /** A kosmos-g.config.json ({"plugins": [...]}); default: ./kosmos-g.config.json when it exists. */
  configFile?: string;
  /** Read KOSMOS_G_PLUGINS (default true). */
  env?: boolean;
}

export interface LoadError {
  pack: string;
  message: string;
}

export interface CatalogueNode {
  type: string;
  pack: string;
  category: string;
  description: string;
  inputs: Record<string, InputSpec>;
  widgets: Record<string, WidgetSpec>;
  outputs: Record<string, OutputSpec>;
  output: boolean;
  perStep: boolean;
}

export interface Catalogue {
  nodes: CatalogueNode[];
  packs: { name: string; source: string; nodes: string[] }[];
  loadErrors: LoadError[];
}

export class Registry {
  readonly loadErrors: LoadError[] = [];
  private readonly definitions = new Map<string, { def: AnyNodeDefinition; pack: string }>();
  private readonly packs: { name: string; source: string; nodes: string[] }[] = [];
  /** The packs' release hooks, each once (packs may share one). */
  private readonly releaseHooks = new Set<() => void | Promise<void>>();

  static async load(options: RegistryLoadOptions = {}): Promise<Registry> {
    const registry = new Registry();
    const sources: string[] = [];
    if (options.builtins !== false) {
      const fromEnv = process.env[BUILTINS_ENV]?.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const only = Array.isArray(options.builtins) ? options.builtins : options.env !== false ? fromEnv : undefined;
      for (const rel of BUILTIN_PACKS) {
        if (only !== undefined && !only.includes(path.basename(rel))) continue;
        const dir = path.join(REPO_ROOT, rel);
        if (findPackEntry(dir) !== undefined) sources.push(dir);
      }
    }
    for (const p of options.plugins ?? []) sources.push(path.resolve(p));
    if (options.env !== false) {
      for (const p of (process.env[PLUGINS_ENV] ?? '').split(path.delimiter)) if (p.trim() !== '') sources.push(path.resolve(p.trim()));
    }
    const configFile = options.configFile ?? (existsSync(CONFIG_FILE) ? CONFIG_FILE : undefined);
    if (configFile !== undefined) {
      try {
        sources.push(...readConfigPlugins(configFile));
      } catch (error) {
        registry.loadErrors.push({ pack: configFile, message: errorMessage(error) });
      }
    }
    const seen = new Set<string>();
    for (const source of sources) {
      if (seen.has(source)) continue;
      seen.add(source);
      await registry.loadPack(source);
    }
    return registry;
  }

  /** Import one pack folder (or file) and add it; failures go to `loadErrors`. */
  async loadPack(source: string): Promise<void> {
    const entry = findPackEntry(source);
    if (entry === undefined) {
      this.loadErrors.push({ pack: source, message: `no pack found at ${source} (expected a folder with index.ts or index.js, or a module file)` });
      return;
    }
    try {
      const mod = linkedBuiltins.get(path.resolve(source)) ?? ((await import(pathToFileURL(entry).href)) as Record<string, unknown>);
      const pack = packFromModule(mod, path.basename(statSync(source).isDirectory() ? source : path.dirname(source)));
      this.add(pack, source);
    } catch (error) {
      this.loadErrors.push({ pack: source, message: errorMessage(error) });
    }
  }

  /**
   * Add a pack: all its nodes or none. Throws a KosmosError (REGISTRY_DUPLICATE_TYPE naming both packs, or
   * NODE_DEFINITION) when a definition is invalid or its type is taken.
   */
  add(pack: NodePack, source = pack.name): void {
    const problems: string[] = [];
    const types = new Set<string>();
    for (const def of pack.nodes) {
      problems.push(...checkDefinition(def, pack.name));
      const existing = this.definitions.get(def?.type);
      if (existing !== undefined) {
        throw new KosmosError('REGISTRY_DUPLICATE_TYPE', `node type "${def.type}" is defined by both pack "${existing.pack}" and pack "${pack.name}"`);
      }
      if (types.has(def?.type)) problems.push(`pack "${pack.name}" defines node type "${def.type}" twice`);
      types.add(def?.type);
    }
    if (problems.length > 0) throw new KosmosError('NODE_DEFINITION', problems.join('; '));
    for (const def of pack.nodes) this.definitions.set(def.type, { def, pack: pack.name });
    this.packs.push({ name: pack.name, source, nodes: pack.nodes.map((d) => d.type) });
    if (typeof pack.release === 'function') this.releaseHooks.add(pack.release);
  }

  /** Runs every pack's release hook; a failing hook is reported in the result, the others still run. */
  async releasePacks(): Promise<{ released: number; errors: string[] }> {
    const errors: string[] = [];
    for (const hook of this.releaseHooks) {
      try {
        await hook();
      } catch (error) {
        errors.push(errorMessage(error));
      }
    }
    return { released: this.releaseHooks.size, errors };
  }

  get(type: string): AnyNodeDefinition | undefined {
    return this.definitions.get(type)?.def;
  }

  packOf(type: string): string | undefined {
    return this.definitions.get(type)?.pack;
  }

  types(): string[] {
    return [...this.definitions.keys()];
  }

  catalogue(): Catalogue {
    const nodes: CatalogueNode[] = [];
    for (const { def, pack } of this.definitions.values()) {
      nodes.push({
        type: def.type,
        pack,
        category: def.category,
        description: def.description,
        inputs: structuredClone(def.inputs),
        widgets: structuredClone(def.widgets),
        outputs: structuredClone(def.outputs),
        output: def.output === true,
        perStep: def.perStep === true,
      });
    }
    return { nodes, packs: structuredClone(this.packs), loadErrors: [...this.loadErrors] };
  }
}

function findPackEntry(source: string): string | undefined {
  if (!existsSync(source)) return undefined;
  if (!statSync(source).isDirectory()) return source;
  for (const name of ['index.ts', 'index.js', 'index.mjs']) {
    const p = path.join(source, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function readConfigPlugins(file: string): string[] {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new KosmosError('CONFIG_INVALID', `${file}: ${errorMessage(error)}`);
  }
  const plugins = (config as { plugins?: unknown } | null)?.plugins;
  if (plugins === undefined) return [];
  if (!Array.isArray(plugins) || plugins.some((p) => typeof p !== 'string')) {
    throw new KosmosError('CONFIG_INVALID', `${file}: "plugins" must be a list of folder paths`);
  }
  const base = path.dirname(path.resolve(file));
  return (plugins as string[]).map((p) => path.resolve(base, p));
}

/** A pack module default-exports a NodePack (definePack) or a list of definitions, or exports `nodes`. */
function packFromModule(mod: Record<string, unknown>, fallbackName: string): NodePack {
  const candidate = mod.default ?? mod.nodes;
  if (Array.isArray(candidate)) return { name: fallbackName, nodes: candidate as AnyNodeDefinition[] };
  if (typeof candidate === 'object' && candidate !== null && Array.isArray((candidate as NodePack).nodes)) {
    const pack = candidate as NodePack;
    const name = typeof pack.name === 'string' && pack.name !== '' ? pack.name : fallbackName;
    return { name, nodes: pack.nodes, ...(typeof pack.release === 'function' ? { release: pack.release } : {}) };
  }
  throw new KosmosError('NODE_PACK_INVALID', 'the module must default-export definePack(name, [...]) or a list of node definitions');
}
