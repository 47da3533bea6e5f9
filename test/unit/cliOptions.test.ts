import { describe, expect, it } from 'vitest';
import { dayOption, integerOption } from '../../cli/options.ts';

describe('integerOption', () => {
  const range = { min: 1, max: 1000 };

  it('reads a whole number in range, and the fallback when the option is absent', () => {
    expect(integerOption({ limit: '20' }, 'limit', range, 50)).toBe(20);
    expect(integerOption({ limit: ' 1000 ' }, 'limit', range, 50)).toBe(1000);
    expect(integerOption({}, 'limit', range, 50)).toBe(50);
    expect(integerOption({}, 'count', range, Infinity)).toBe(Infinity);
  });

  it.each(['x', '', '2.5', '-3', '1e3', '0x10', '0', '1001', '99999999999999999999'])('refuses %j, naming the option and its range', (raw) => {
    expect(() => integerOption({ limit: raw }, 'limit', range, 50)).toThrow(`--limit must be a whole number from 1 to 1000, not "${raw}"`);
  });

  it('refuses a flag given without a value', () => {
    expect(() => integerOption({ limit: true }, 'limit', range, 50)).toThrow('--limit must be a whole number');
  });
});

describe('dayOption', () => {
  const now = Date.parse('2026-11-23T21:30:00Z');

  it('reads a calendar day, and today (UTC) when absent', () => {
    expect(dayOption({ day: '2026-02-28' }, now)).toBe('2026-02-28');
    expect(dayOption({ day: '2028-02-29' }, now)).toBe('2028-02-29');
    expect(dayOption({}, now)).toBe('2026-11-23');
  });

  it.each(['2026-02-30', '2026-02-29', '2026-13-01', '2026-1-5', 'yesterday', '2026-11-23T00:00:00Z'])('refuses %j', (raw) => {
    expect(() => dayOption({ day: raw }, now)).toThrow(`--day must be a calendar day as YYYY-MM-DD (UTC), not "${raw}"`);
  });
});
