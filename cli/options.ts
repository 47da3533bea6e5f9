import { CliError, EXIT } from './output.ts';

export type Values = Record<string, string | boolean | undefined>;

/**
 * A whole-number option within [min, max], or `fallback` when absent. Checked here because
 * Number('x') is NaN, which would otherwise reach DynamoDB as a Limit or a token as its expiry.
 */
export function integerOption(values: Values, name: string, range: { min: number; max: number }, fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new CliError(`--${name} must be a whole number from ${range.min} to ${range.max}, not "${String(raw)}"`, EXIT.usage);
  }
  return value;
}

/** `--day` as YYYY-MM-DD (a real calendar day, UTC), or today when absent. */
export function dayOption(values: Values, now = Date.now()): string {
  const raw = values['day'];
  if (raw === undefined) return new Date(now).toISOString().slice(0, 10);
  const ms = typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(raw) ? Date.parse(`${raw}T00:00:00Z`) : NaN;
  // Date.parse rolls some impossible days over (2026-02-30 → March 2); the round trip catches it.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== raw) {
    throw new CliError(`--day must be a calendar day as YYYY-MM-DD (UTC), not "${String(raw)}"`, EXIT.usage);
  }
  return raw;
}
