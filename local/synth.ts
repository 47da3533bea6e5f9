import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const projectRoot = fileURLToPath(new URL('..', import.meta.url));

/** `cdk synth` failed. The message is the app's own error line (a config mistake names its key); `output` is everything it printed. */
export class SynthError extends Error {
  public constructor(
    message: string,
    public readonly output: string,
  ) {
    super(message);
    this.name = 'SynthError';
  }
}

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
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
    // The thrown error's own line, without the source excerpt and stack frames around it.
    const errors = output.split('\n').filter((line) => /^\w*Error: /.test(line)).map((line) => line.replace(/^Error: /, ''));
    throw new SynthError(errors.length > 0 ? errors.join('\n') : `cdk synth failed (exit ${result.status})\n${output}`, output);
  }
}
