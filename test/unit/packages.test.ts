import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Intent, intentSchema } from '../../functions/core/intent/intentSchema.ts';
import type { RejectionReason } from '../../functions/core/types.ts';
import type { IntentRecipient, IntentRefusalReason, IntentUserAudience, IntentV1 } from '../../producer/index.ts';

// `npm test` runs `npm run build` first; this checks what consumers of `herald/client` and
// `herald/producer` get.
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, { types: string; import: string }>;
  dependencies: Record<string, string>;
};

describe('the herald/client entry point (dist/client)', () => {
  it('is declared in package.json exports with types', () => {
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

/** IntentV1 without its `readonly`s (which only say the producer does not change what it is given). */
type Mutable<T> = T extends readonly (infer U)[] ? Mutable<U>[] : T extends object ? { -readonly [K in keyof T]: Mutable<T[K]> } : T;

describe('the herald/producer entry point (dist/producer)', () => {
  it('is declared in package.json exports with types', () => {
    expect(pkg.exports['./producer']).toEqual({ types: './dist/producer/index.d.ts', import: './dist/producer/index.js' });
    expect(existsSync('dist/producer/index.js')).toBe(true);
    expect(existsSync('dist/producer/index.d.ts')).toBe(true);
  });

  it('imports only Node built-ins and the packages Herald depends on, which the installing app gets with it', async () => {
    const imported = packagesImportedBy('dist/producer/index.js');
    expect(imported).toContain('@aws-sdk/client-sqs');
    for (const name of imported) expect(Object.keys(pkg.dependencies)).toContain(name);
    const sdk = (await import('../../dist/producer/index.js' as string)) as Record<string, unknown>;
    expect(typeof sdk['HeraldProducer']).toBe('function');
    expect(typeof sdk['IntentRefusedError']).toBe('function');
  });

  it('ships declarations that stand alone: .js siblings only, nothing from outside producer/', () => {
    for (const file of readdirSync('dist/producer').filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(`dist/producer/${file}`, 'utf8');
      expect(text, file).not.toMatch(/from '\.\/[^']+\.ts'/);
      expect(text, file).not.toMatch(/from '\.\.\//);
    }
  });

  it('types the intent as the JSON Schema does, and refusals as the rejection reasons a producer can meet', () => {
    // Checked by the typecheck: each assignable to the other, so a field the schema adds, drops or
    // retypes, and IntentV1 does not, fails it.
    const asSchema = (intent: Mutable<IntentV1>): Intent => intent;
    const asProducer = (intent: Intent): IntentV1 => intent;
    const sample: IntentV1 = { notification_type: 'ping', producer: 'p', idempotency_key: 'k', audience: { kind: 'user', user_id: 'u' }, payload: {} };
    expect(asProducer(asSchema(sample as Mutable<IntentV1>))).toBe(sample);
    // ...and the same field names, optional ones included (the schema's type has an index signature).
    expectTypeOf<keyof IntentV1>().toEqualTypeOf<keyof typeof intentSchema.properties>();
    expectTypeOf<keyof IntentUserAudience>().toEqualTypeOf<keyof (typeof intentSchema.properties.audience.oneOf)[0]['properties']>();
    expectTypeOf<keyof IntentRecipient>().toEqualTypeOf<keyof (typeof intentSchema.properties.audience.oneOf)[1]['properties']['recipients']['items']['properties']>();
    expectTypeOf<IntentRefusalReason>().toEqualTypeOf<Exclude<RejectionReason, 'idempotency_conflict' | 'recipient_deleted'>>();
  });
});

describe('the packed package (npm pack), for apps that use the SDKs', () => {
  it('depends on exactly the packages its two bundles import, so an app installs nothing else', () => {
    // Everything the Lambdas, CLI and offline stack use is bundled or runs from a clone: devDependencies.
    const imported = new Set([...packagesImportedBy('dist/client/index.js'), ...packagesImportedBy('dist/producer/index.js')]);
    expect(Object.keys(pkg.dependencies).sort()).toEqual([...imported].sort());
  });

  it('carries the two built entry points, the schemas and the protocol, and no source', () => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path);
    for (const path of ['dist/client/index.js', 'dist/client/index.d.ts', 'dist/producer/index.js', 'dist/producer/index.d.ts', 'schema/intent.v1.schema.json', 'docs/asyncapi.yaml']) {
      expect(files).toContain(path);
    }
    const outside = files.filter((f) => !/^(dist\/(client|producer)\/|schema\/|docs\/asyncapi\.yaml$|package\.json$|README\.md$|bin\/herald-cli\.mjs$)/.test(f));
    expect(outside).toEqual([]);
  });

  it("gives its bin, where the CLI's source is not, a message instead of a stack trace", () => {
    const installed = mkdtempSync(join(tmpdir(), 'herald-packed-'));
    try {
      mkdirSync(join(installed, 'bin'));
      copyFileSync('bin/herald-cli.mjs', join(installed, 'bin/herald-cli.mjs'));
      const run = spawnSync(process.execPath, [join(installed, 'bin/herald-cli.mjs'), '--help'], { encoding: 'utf8' });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain('herald: the CLI runs from a clone of the Herald repository');
    } finally {
      rmSync(installed, { recursive: true, force: true });
    }
  });
});

/** The npm packages a built bundle imports, statically or with import(), Node built-ins left out. */
function packagesImportedBy(bundlePath: string): string[] {
  const bundle = readFileSync(bundlePath, 'utf8');
  const specifiers = [...bundle.matchAll(/(?:^import [^;]* from |\bimport\()"([^"]+)"/gm)].map((m) => m[1]!);
  const names = specifiers
    .filter((specifier) => !specifier.startsWith('node:'))
    .map((specifier) => (specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!));
  return [...new Set(names)];
}
