// Accounting for every key of a diffusers / transformers config.json, so that nothing a file asks for is dropped
// silently: a key is read, or its value is what the project does anyway, or it has no effect here (with why), or
// it is reported — as a setting that is not implemented, or as a key the reader does not know. Keys starting
// with "_" (`_class_name`, `_diffusers_version`, …) are metadata.

/** A config read from a file, with what the reader inferred (defaults taken, keys without effect) and what it ignored. */
export interface ReadConfig<C> {
  config: C;
  inferred: string[];
  /** Settings the file asks for that are not implemented, and unknown keys. */
  ignored: string[];
}

export interface KeyRules {
  /** Keys the reader interprets itself. */
  read: readonly string[];
  /** Keys whose listed values are what the project does; another value is reported as not implemented. */
  asIs?: Readonly<Record<string, readonly unknown[]>>;
  /** Keys that change nothing here, with the reason (said when `explainNoEffect` is set). */
  noEffect?: Readonly<Record<string, string>>;
}

function isAsIs(value: unknown, allowed: readonly unknown[]): boolean {
  if (Array.isArray(value)) return value.every((v) => allowed.includes(v));
  return allowed.includes(value);
}

/** One sentence per key the project does not honour (not implemented, or unknown). */
export function ignoredSettings(json: Record<string, unknown>, rules: KeyRules): string[] {
  const read = new Set(rules.read);
  const out: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    if (read.has(key) || key.startsWith('_') || (rules.noEffect && key in rules.noEffect)) continue;
    const allowed = rules.asIs?.[key];
    if (allowed) {
      if (!isAsIs(value, allowed)) out.push(`${key} ${JSON.stringify(value)} is not implemented and is ignored`);
    } else {
      out.push(`unknown key "${key}" is ignored`);
    }
  }
  return out;
}

/** The keys present that have no effect here, each with its reason. */
export function noEffectNotes(json: Record<string, unknown>, rules: KeyRules): string[] {
  return Object.entries(rules.noEffect ?? {})
    .filter(([key]) => key in json && json[key] !== null && json[key] !== false)
    .map(([key, why]) => `${key} ${JSON.stringify(json[key])}: ${why}`);
}
