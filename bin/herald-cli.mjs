#!/usr/bin/env node
// The `herald` CLI: runs the TypeScript source through tsx (a dev dependency of this repository).
import { existsSync } from 'node:fs';

const main = new URL('../cli/main.ts', import.meta.url);
if (!existsSync(main)) {
  // An app that installed the packed SDKs (npm pack) gets this file as the package's bin, not the CLI.
  console.error('herald: the CLI runs from a clone of the Herald repository (npx herald there); this installed package carries the SDKs only (herald/client, herald/producer).');
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
await import(main.href);
