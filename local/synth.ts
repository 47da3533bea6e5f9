import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs `cdk synth` for the given config into `outdir` (the pinned CDK CLI from node_modules). */
export function synthesize(options: { configPath: string; outdir: string; quiet?: boolean }): void {
  const cdk = `${projectRoot}node_modules/.bin/cdk`;
  // A fresh directory: old bundles would otherwise pile up with every synth.
  rmSync(options.outdir, { recursive: true, force: true });
  const result = spawnSync(cdk, ['synth', '--quiet', '-c', `config=${options.configPath}`, '-o', options.outdir], {
    cwd: projectRoot,
    stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`cdk synth failed (exit ${result.status}):\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
}
