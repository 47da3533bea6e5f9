import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SynthError, synthesize } from '../../local/synth.ts';

// The real `cdk synth` of bin/herald.ts (what `npm start` and the test stack run), into a scratch directory.
const scratch = mkdtempSync(join(tmpdir(), 'herald-synth-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function synthOf(config: unknown): SynthError {
  const configPath = join(scratch, 'config.json');
  writeFileSync(configPath, JSON.stringify(config));
  try {
    synthesize({ configPath, outdir: join(scratch, 'cdk.out'), quiet: true });
  } catch (error) {
    if (error instanceof SynthError) return error;
    throw error;
  }
  throw new Error('cdk synth succeeded');
}

describe('cdk synth of a config file with a mistake', () => {
  it('fails with the app\'s own message naming the key, the whole output kept apart', () => {
    const config = { ...JSON.parse(readFileSync('config/herald.json', 'utf8')), trace: false };

    const failure = synthOf(config);

    expect(failure.message).toMatch(/^Herald config: unknown keys trace \(known: emailFrom, catalog, /);
    expect(failure.message).not.toContain('\n');
    expect(failure.output).toContain('HeraldConfigFile.ts');
  });
});

describe('cdk.json', () => {
  it('sets every feature flag the pinned aws-cdk-lib recommends, so a new one is decided before it changes a template', () => {
    const recommended = JSON.parse(readFileSync('node_modules/aws-cdk-lib/recommended-feature-flags.json', 'utf8')) as Record<string, unknown>;
    const { context } = JSON.parse(readFileSync('cdk.json', 'utf8')) as { context: Record<string, unknown> };

    expect(Object.keys(recommended).filter((flag) => !(flag in context))).toEqual([]);
  });
});
