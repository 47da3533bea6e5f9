import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// `npm test` runs `npm run build:client` first; this checks what `herald/client` consumers get.
describe('the herald/client entry point (dist/client)', () => {
  it('is declared in package.json exports with types', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: Record<string, { types: string; import: string }> };
    expect(pkg.exports['./client']).toEqual({ types: './dist/client/index.d.ts', import: './dist/client/index.js' });
    expect(existsSync('dist/client/index.js')).toBe(true);
    expect(existsSync('dist/client/index.d.ts')).toBe(true);
  });

  it('exports the client from a bundle free of Node and AWS SDK imports', async () => {
    const bundle = readFileSync('dist/client/index.js', 'utf8');
    expect(bundle).not.toMatch(/from\s*["'](node:|@aws-sdk|fs|http)/);
    const sdk = (await import('../../dist/client/index.js' as string)) as Record<string, unknown>;
    expect(typeof sdk['HeraldClient']).toBe('function');
    expect(typeof sdk['storageCursorStore']).toBe('function');
    expect(() => new (sdk['HeraldClient'] as new (o: unknown) => unknown)({ url: 'http://nope', token: 't' })).toThrow('url must be a ws:// or wss:// URL, got "http://nope"');
  });

  it('ships declarations that reference .js siblings only', () => {
    for (const file of readdirSync('dist/client').filter((f) => f.endsWith('.d.ts'))) {
      expect(readFileSync(`dist/client/${file}`, 'utf8')).not.toMatch(/from '\.\/[^']+\.ts'/);
    }
  });
});
