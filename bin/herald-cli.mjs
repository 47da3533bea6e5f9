#!/usr/bin/env node
// The `herald` CLI: runs the TypeScript source through tsx (a dev dependency of this repository).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
