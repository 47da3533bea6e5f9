import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCommand } from '../runCommand.ts';
import { addFault, clearFaults, connectionRegistry, uid, waitFor } from './support.ts';

// `herald verify` runs the same code against a deployed stack (--stack) and the offline stack
// (--endpoints): these tests run it as a user would, against the test stack.
const ENDPOINTS = '.local/test-endpoints.json';
const verify = (...args: string[]) => runCommand(process.execPath, ['bin/herald-cli.mjs', 'verify', '--timeout', '20', ...args], { timeoutMs: 180_000 });

afterEach(async () => {
  await clearFaults('ses');
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('herald verify', () => {
  it('passes every check against a working stack: push, replay, revocation, email; and removes its user', async () => {
    // Act
    const run = await verify('--endpoints', ENDPOINTS, '--email', `${uid('verify')}@example.com`);

    // Assess: one line per check, each with its time; exit 0.
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const check of ['stack outputs', 'SES account and sender identity', 'connection token', 'WebSocket connect', 'push event delivered', 'replay after reconnect', 'session revoked through the bus', 'email', 'clean up (user.deleted)']) {
      expect(run.stdout).toMatch(new RegExp(`^✓ ${check.replace(/[()]/g, '\\$&')} \\(\\d+ ms\\)`, 'm'));
    }
    const user = /verified: every check passed \(user (\S+)\)/.exec(run.stdout)?.[1];
    expect(user).toMatch(/^herald-verify-/);
    // The throw-away user was deleted: no connection of theirs is left.
    await waitFor('the user removed', async () => (await connectionRegistry.listForUser(user!)).length === 0);
  }, 180_000);

  it('fails at the WebSocket, saying it is unreachable, when nothing answers at its URL', async () => {
    // Prepare: the same stack, but its WebSocket URL points at a closed port.
    const endpoints = JSON.parse(readFileSync(ENDPOINTS, 'utf8')) as { outputs: Record<string, string>; websocket: string };
    const unreachable = `ws://127.0.0.1:${await closedPort()}/live`;
    endpoints.outputs['HeraldWebSocketUrl'] = unreachable;
    endpoints.websocket = unreachable;
    const file = join(mkdtempSync(join(tmpdir(), 'herald-verify-')), 'endpoints.json');
    writeFileSync(file, JSON.stringify(endpoints));

    // Act
    const run = await verify('--endpoints', file);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ WebSocket connect \(\d+ ms\): cannot reach the WebSocket API at ws:\/\/127\.0\.0\.1:\d+\/live\?token=…: ECONNREFUSED/m);
    expect(run.stdout).toContain('likely cause: the WebSocketUrl output is not reachable from here');
    expect(run.stdout).not.toContain('✓ push event delivered');
    expect(run.stdout).toContain('NOT verified');
  });

  it('fails at the WebSocket, naming the token, when the secret is not the stack\'s', async () => {
    const run = await verify('--endpoints', ENDPOINTS, '--secret', 'w'.repeat(64));

    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✗ WebSocket connect \(\d+ ms\): the WebSocket API refused the token \(HTTP 401\)/m);
    expect(run.stdout).toContain('likely cause: the token was not signed with the stack\'s key');
  });

  it('fails at the email, naming the SES sandbox, when SES refuses an unverified recipient', async () => {
    // Prepare: SES answers as it does in the sandbox for an address that is not a verified identity.
    const address = `${uid('unverified')}@example.com`;
    await addFault('ses', {
      match: address,
      status: 400,
      errorType: 'MessageRejected',
      message: `Email address is not verified. The following identities failed the check in region US-EAST-1: ${address}`,
    });

    // Act
    const run = await verify('--endpoints', ENDPOINTS, '--email', address);

    // Assess: everything before the email passed; the email names the cause; the user is still removed.
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✓ session revoked through the bus/m);
    expect(run.stdout).toMatch(/^✗ email \(\d+ ms\): route email:herald-verify-\S+ ended dead_letter: email_identity_unverified: SES SendEmail failed: MessageRejected: Email address is not verified/m);
    expect(run.stdout).toContain('likely cause: SES sandbox: the recipient (or the sender) is not a verified identity');
    expect(run.stdout).toMatch(/^✓ clean up \(user\.deleted\)/m);
  }, 180_000);
});
