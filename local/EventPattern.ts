/** EventBridge event-pattern matching: exact values, prefix, suffix, exists, anything-but, numeric. */
export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = event[key];
    if (Array.isArray(expected)) return expected.some((candidate) => matchesValue(candidate, actual));
    if (typeof expected === 'object' && expected !== null) {
      return typeof actual === 'object' && actual !== null && !Array.isArray(actual)
        && matchesPattern(expected as Record<string, unknown>, actual as Record<string, unknown>);
    }
    return false;
  });
}

function matchesValue(candidate: unknown, actual: unknown): boolean {
  if (Array.isArray(actual)) return actual.some((a) => matchesValue(candidate, a));
  if (typeof candidate !== 'object' || candidate === null) return candidate === actual;
  const rule = candidate as Record<string, unknown>;
  if ('exists' in rule) return (actual !== undefined) === rule['exists'];
  if (actual === undefined) return false;
  if ('prefix' in rule) return typeof actual === 'string' && actual.startsWith(String(rule['prefix']));
  if ('suffix' in rule) return typeof actual === 'string' && actual.endsWith(String(rule['suffix']));
  if ('anything-but' in rule) {
    const excluded = rule['anything-but'];
    return Array.isArray(excluded) ? !excluded.includes(actual) : excluded !== actual;
  }
  if ('numeric' in rule && typeof actual === 'number') {
    const ops = rule['numeric'] as (string | number)[];
    for (let i = 0; i < ops.length; i += 2) {
      const [op, value] = [ops[i] as string, ops[i + 1] as number];
      const ok = op === '=' ? actual === value : op === '<' ? actual < value : op === '<=' ? actual <= value : op === '>' ? actual > value : actual >= value;
      if (!ok) return false;
    }
    return true;
  }
  return false;
}
