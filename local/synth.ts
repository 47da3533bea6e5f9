import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** Runs `cdk synth` for the given config into `outdir` (the pinned CDK CLI from node_modules). */
export function synthesize(options: { configPath: string; outdir: string; quiet?: boolean }): void {
  const cdk = `${projectRoot}node_modules/.bin/cdk`;
  const result = spawnSync(cdk, ['synth', '--quiet', '-c', `config=${options.configPath}`, '-o', options.outdir], {
    cwd: projectRoot,
    stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`cdk synth failed (exit ${result.status}):\n${result.stdout ?? ''}${result.stderr ?? ''}`);
  }
}
