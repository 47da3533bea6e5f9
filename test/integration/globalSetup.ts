import { mkdirSync, writeFileSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { OfflineStack, withPush, type PushEndpoints } from '../../local/OfflineStack.ts';
import { synthesize } from '../../local/synth.ts';
import { freeOfflinePorts } from '../../local/freePort.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: PushEndpoints;
    functionLog: string;
  }
}

/** Synthesizes the test configuration once and starts one offline stack for every integration test. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const assemblyDir = 'cdk.out.test';
  synthesize({ configPath: 'test/fixtures/herald.test.json', outdir: assemblyDir, quiet: true });
  const stack = new OfflineStack({
    assemblyDir,
    ports: await freeOfflinePorts(),
    demo: { notificationType: 'ping', inboxType: 'mention' },
    schedules: 'manual',
    logs: '.local/test-functions.log',
  });
  const endpoints = withPush(await stack.start());
  project.provide('endpoints', endpoints);
  // The CLI tests point the real `herald` command at this stack through an endpoints document.
  mkdirSync('.local', { recursive: true });
  writeFileSync('.local/test-endpoints.json', JSON.stringify(endpoints, null, 2));
  project.provide('functionLog', '.local/test-functions.log');
  return async () => {
    await stack.stop();
  };
}
