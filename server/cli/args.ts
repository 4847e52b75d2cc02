// Command-line parsing: strict (an unknown flag is an error, exit code 2), no dependencies.
import { KosmosError } from '../../engine/errors.ts';

export interface FlagSpec {
  /** 'boolean' flags take no value; 'string' flags take the next argument (or `--flag=value`). */
  kind: 'boolean' | 'string';
  repeat?: boolean;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string[] | true>;
}

export function parseArgs(argv: readonly string[], specs: Record<string, FlagSpec>, command: string): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string[] | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined; // `--constructor` is no flag
    if (spec === undefined) throw usage(`${command}: unknown flag --${name}`);
    if (spec.kind === 'boolean') {
      if (eq >= 0) throw usage(`${command}: --${name} takes no value`);
      flags.set(name, true);
      continue;
    }
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw usage(`${command}: --${name} needs a value`);
    const previous = flags.get(name);
    if (previous !== undefined && spec.repeat !== true) throw usage(`${command}: --${name} given twice`);
    flags.set(name, [...(Array.isArray(previous) ? previous : []), value]);
    value = undefined;
  }
  return { positionals, flags };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v[v.length - 1] : undefined;
}

export function flagList(args: ParsedArgs, name: string): string[] {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v : [];
}

export function flagBoolean(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

export function usage(message: string): KosmosError {
  return new KosmosError('USAGE', message, { issues: [{ code: 'USAGE', message }] });
}
