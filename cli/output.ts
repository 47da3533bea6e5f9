/** Exit codes that mean something to scripts. */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, invalidInput: 4, unavailable: 5 } as const;

export class CliError extends Error {
  public constructor(message: string, public readonly exitCode: number) {
    super(message);
    this.name = 'CliError';
  }
}

/** Prints rows as an aligned table for people. */
export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): void {
  if (rows.length === 0) {
    console.log('(none)');
    return;
  }
  const cell = (value: unknown) => (value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  const widths = columns.map((c) => Math.min(60, Math.max(c.length, ...rows.map((r) => cell(r[c]).length))));
  const line = (values: string[]) => values.map((v, i) => v.slice(0, 60).padEnd(widths[i]!)).join('  ').trimEnd();
  console.log(line([...columns]));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const row of rows) console.log(line(columns.map((c) => cell(row[c]))));
}

export const iso = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString() : undefined);
