import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Builds the package's two entry points, each an ESM bundle with its type declarations:
 * `herald/client` (dist/client: browsers and Node, no dependencies) and `herald/producer`
 * (dist/producer: Node; the packages it imports, the AWS SDK's SQS client and ajv, are not bundled:
 * they and `ws` are the package's only `dependencies`, so an app installs them and nothing else).
 */
rmSync('dist/client', { recursive: true, force: true });
rmSync('dist/producer', { recursive: true, force: true });
await build({
  entryPoints: ['client/index.ts'],
  outfile: 'dist/client/index.js',
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  // Loaded only where the platform has no WebSocket (Node < 22); browsers never reach it.
  external: ['ws'],
  sourcemap: true,
});
await build({
  entryPoints: ['producer/index.ts'],
  outfile: 'dist/producer/index.js',
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
});

execFileSync('node_modules/.bin/tsc', ['-p', 'tsconfig.client.json'], { stdio: 'inherit' });
// The producer's declarations: tsc writes them for every file its entry point reaches; only
// producer/'s are public (and must not import from outside it: a unit test checks).
const declarations = mkdtempSync(join(tmpdir(), 'herald-producer-declarations-'));
try {
  execFileSync('node_modules/.bin/tsc', ['-p', 'tsconfig.producer.json', '--outDir', declarations], { stdio: 'inherit' });
  cpSync(join(declarations, 'producer'), 'dist/producer', { recursive: true });
} finally {
  rmSync(declarations, { recursive: true, force: true });
}
// Declarations must name what exists next to them in dist: './types.js', not './types.ts'.
for (const entry of ['client', 'producer']) {
  for (const file of readdirSync(`dist/${entry}`).filter((f) => f.endsWith('.d.ts'))) {
    const path = `dist/${entry}/${file}`;
    writeFileSync(path, readFileSync(path, 'utf8').replace(/(from\s+'\.\/[^']+)\.ts'/g, "$1.js'"));
  }
}
console.log('built dist/client and dist/producer (index.js, index.d.ts)');
