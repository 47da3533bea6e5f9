import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { documents, events, intent, mailbox, outputs, sendIntent, store, uid, waitFor } from './support.ts';
import { closeAllClients, connectAs } from './wsClient.ts';
import { runCommand } from '../runCommand.ts';

/** Runs the real `herald` command against the test stack. */
const herald = (...args: string[]) => runCommand(process.execPath, ['bin/herald-cli.mjs', ...args, '--endpoints', '.local/test-endpoints.json']);
const files = mkdtempSync(join(tmpdir(), 'herald-preferences-test-'));

afterEach(async () => {
  await closeAllClients();
});
afterAll(() => rmSync(files, { recursive: true, force: true }));

async function setPreference(...args: string[]): Promise<void> {
  const result = await herald('preferences', 'set', ...args, '--json');
  expect(result.code, result.stderr).toBe(0);
}

/** Every route of a notification, once none is open any more. */
async function settledRoutes(id: string, count: number) {
  return waitFor(`${count} routes of ${id} settled`, async () => {
    const routes = await store.listRoutes(id);
    return routes.length === count && routes.every((r) => ['published', 'cancelled', 'dead_letter'].includes(r.status)) ? routes : undefined;
  });
}

describe('notification preferences, set with the CLI and enforced at acceptance', () => {
  it('creates a route the user turned off cancelled (reason preference), never attempted, and delivers the other channel', async () => {
    // Prepare: the user turned welcome off on push only, and has a live connection.
    const user = uid('optout');
    const client = await connectAs(user, 'phone');
    await setPreference('--user', user, '--type', 'welcome', '--channel', 'push', '--off');
    const sent = intent('welcome', { user_id: user, email: `${user}@example.com` }, { name: 'Ada' });
    const id = notificationIdFor('tests', sent.idempotency_key);

    // Act
    await sendIntent(sent);

    // Assess: the email route is published and mailed; the push route was created cancelled with
    // the reason, with no attempt, and nothing reached the socket.
    const routes = await settledRoutes(id, 2);
    expect(routes.find((r) => r.channel === 'email')).toMatchObject({ status: 'published', attempts: 1 });
    expect(routes.find((r) => r.channel === 'push')).toMatchObject({ status: 'cancelled', cancel_reason: 'preference', attempts: 0 });
    expect(await mailbox(`${user}@example.com`)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 300));
    expect(client.events()).toEqual([]);
    const status = await herald('status', id, '--json');
    expect(JSON.parse(status.stdout).routes).toEqual(expect.arrayContaining([expect.objectContaining({ route_id: `push:${user}`, status: 'cancelled', cancel_reason: 'preference' })]));
  });

  it('delivers a required channel though the user turned the whole channel off, and an opt-in type only once turned on', async () => {
    // Prepare: one user with every email off, one who has made no choice.
    const [noEmail, fresh] = [uid('noemail'), uid('fresh')];
    await setPreference('--user', noEmail, '--channel', 'email', '--off');
    const alert = intent('security.alert', { user_id: noEmail, email: `${noEmail}@example.com` }, { where: 'Lisbon' });
    const receipt = intent('receipt', { user_id: noEmail, email: `${noEmail}@example.com` }, { order: { id: 'o-1', total: '1 €' } });
    const newsletter = (n: number) => intent('newsletter', { user_id: fresh, email: `${fresh}@example.com` }, { n });

    // Act: an alert (email required) and a receipt to the first; a newsletter (opt-in) to the second, before and after opting in.
    const first = newsletter(1);
    await Promise.all([sendIntent(alert), sendIntent(receipt), sendIntent(first)]);
    const [alertRoutes, receiptRoutes, before] = await Promise.all([
      settledRoutes(notificationIdFor('tests', alert.idempotency_key), 2),
      settledRoutes(notificationIdFor('tests', receipt.idempotency_key), 1),
      settledRoutes(notificationIdFor('tests', first.idempotency_key), 1),
    ]);
    await setPreference('--user', fresh, '--type', 'newsletter', '--channel', 'email', '--on');
    const second = newsletter(2);
    await sendIntent(second);
    const after = await settledRoutes(notificationIdFor('tests', second.idempotency_key), 1);

    // Assess
    expect(alertRoutes.map((r) => [r.channel, r.status])).toEqual(expect.arrayContaining([['email', 'published'], ['push', 'published']]));
    expect(receiptRoutes[0]).toMatchObject({ status: 'cancelled', cancel_reason: 'preference' });
    const alertMail = await mailbox(`${noEmail}@example.com`);
    expect(alertMail.map((m) => m.subject)).toEqual(['Security alert']);
    expect(before[0]).toMatchObject({ status: 'cancelled', cancel_reason: 'preference' });
    expect(after[0]).toMatchObject({ status: 'published' });
    expect((await mailbox(`${fresh}@example.com`)).map((m) => m.subject)).toEqual(['Newsletter 2']);
  });

  it('shows what a user chose, and refuses a bad document with a specific message, keeping what was stored', async () => {
    const user = uid('shown');
    await setPreference('--user', user, '--type', 'chat.message', '--channel', 'push', '--off');
    const bad = join(files, 'bad.json');
    writeFileSync(bad, JSON.stringify({ channels: { sms: false } }));

    const refused = await herald('preferences', 'set', '--user', user, '--file', bad);
    const shown = await herald('preferences', 'get', '--user', user, '--json');

    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('unknown channel "sms"');
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ user_id: user, preferences: { types: { 'chat.message': { push: false } } }, updated_at: expect.any(Number) });
    expect((await herald('preferences', 'set', '--user', user, '--channel', 'push')).code).toBe(2);
  });

  it('removes a deleted user\'s preferences (user.deleted), and refuses to set new ones', async () => {
    const user = uid('gone');
    await setPreference('--user', user, '--channel', 'push', '--off');

    const put = await events.send(new PutEventsCommand({ Entries: [{ EventBusName: outputs.busName, Source: 'accounts', DetailType: 'herald.lifecycle', Detail: JSON.stringify({ event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now() }) }] }));
    expect(put.FailedEntryCount).toBe(0);

    const item = await waitFor('the deletion applied', async () => {
      const { Item } = await documents.send(new GetCommand({ TableName: outputs.tableName, Key: { pk: `U#${user}`, sk: 'LIFECYCLE' }, ConsistentRead: true }));
      return Item?.['deleted_until'] !== undefined ? Item : undefined;
    });
    expect(item['preferences']).toBeUndefined();
    const get = await herald('preferences', 'get', '--user', user);
    expect(get.code).toBe(4);
    expect(get.stderr).toContain('is deleted');
    expect((await herald('preferences', 'set', '--user', user, '--channel', 'push', '--on')).code).toBe(4);
  });
});
