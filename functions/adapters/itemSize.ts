/**
 * An item's size as DynamoDB bills it (names and values, UTF-8; numbers 1 byte per two significant
 * digits + 1; maps and lists 3 bytes + 1 per element), from the plain object the document client
 * marshalls. See "DynamoDB item sizes and formats" in the DynamoDB developer guide.
 */
export function itemBytes(item: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) if (value !== undefined) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberBytes(String(value));
  if (typeof value === 'boolean' || value === null) return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...(value as Set<unknown>)].reduce<number>((sum, v) => sum + valueBytes(v), 0);
  if (Array.isArray(value)) return 3 + value.reduce<number>((sum, v) => sum + 1 + valueBytes(v), 0);
  if (typeof value === 'object') {
    return 3 + Object.entries(value as Record<string, unknown>).reduce((sum, [name, v]) => (v === undefined ? sum : sum + 1 + Buffer.byteLength(name) + valueBytes(v)), 0);
  }
  return 0;
}

/** Leading and trailing zeroes do not count; an exponent is written out first. */
function numberBytes(text: string): number {
  const digits = (/e/i.test(text) ? Number(text).toLocaleString('en-US', { useGrouping: false, maximumSignificantDigits: 21 }) : text)
    .replace(/[-.]/g, '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}
