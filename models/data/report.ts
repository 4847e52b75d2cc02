// What reading a dataset found: how many rows were kept and, for every row that was skipped, its line number and
// why. A bad row never stops a run; the report is shown to the user so they can fix their data.

export interface SkippedRow {
  /** 1-based line number in the source file (or the item's index for folder datasets). */
  line: number;
  reason: string;
}

export interface DataReport {
  source: string;
  kept: number;
  skipped: SkippedRow[];
}

export function newReport(source: string): DataReport {
  return { source, kept: 0, skipped: [] };
}

export function skip(report: DataReport, line: number, reason: string): void {
  report.skipped.push({ line, reason });
}

export function describeReport(r: DataReport): string {
  const head = `${r.source}: ${r.kept} rows kept, ${r.skipped.length} skipped`;
  if (!r.skipped.length) return head;
  const shown = r.skipped.slice(0, 10).map((s) => `line ${s.line}: ${s.reason}`);
  return `${head} (${shown.join('; ')}${r.skipped.length > 10 ? '; …' : ''})`;
}
