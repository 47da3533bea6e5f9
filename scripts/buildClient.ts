import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/** Builds the client SDK entry point `herald/client`: an ESM bundle plus its type declarations. */
rmSync('dist/client', { recursive: true, force: true });
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
execFileSync('node_modules/.bin/tsc', ['-p', 'tsconfig.client.json'], { stdio: 'inherit' });
// Declarations must name what exists next to them in dist: './types.js', not './types.ts'.
for (const file of readdirSync('dist/client').filter((f) => f.endsWith('.d.ts'))) {
  const path = `dist/client/${file}`;
  writeFileSync(path, readFileSync(path, 'utf8').replace(/(from\s+'\.\/[^']+)\.ts'/g, "$1.js'"));
}
console.log('built dist/client (index.js, index.d.ts)');
