import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { addFault, approximateDepth, clearFaults, eventBuffer, intent, outputs, sendIntent, sqs, store, uid, waitFor } from './support.ts';
import { runCommand } from '../runCommand.ts';
import { tokenSecret } from './wsClient.ts';

const TEST_STACK = ['--endpoints', '.local/test-endpoints.json'];
const heraldArgs = (args: string[]) => ['bin/herald-cli.mjs', ...args, ...TEST_STACK];

/** Runs the real `herald` command (bin/herald-cli.mjs) against the test stack. */
const herald = (...args: string[]) => runCommand(process.execPath, heraldArgs(args));
const json = async (...args: string[]) => {
  const result = await herald(...args, '--json');
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as any;
};

// Intent files the tests hand to `herald send --file`; removed afterwards so runs leave nothing behind.
const intentFiles = mkdtempSync(join(tmpdir(), 'herald-cli-test-'));

afterEach(async () => {
  await clearFaults('ses');
});
afterAll(() => rmSync(intentFiles, { recursive: true, force: true }));

describe('herald CLI', () => {
  it.each(['send', 'status', 'rejections', 'dead-letters', 'dlq', 'redrive-queue', 'token', 'tail', 'verify', 'preferences'])('%s --help shows examples and exits 0', async (command) => {
    const result = await herald(command, '--help');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`herald ${command}`);
    expect(result.stdout).toContain('Exit codes');
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await herald('frobnicate')).code).toBe(2);
    expect((await herald('status', '--nope')).code).toBe(2);
  });

  it('refuses a malformed number, day or file with a message naming the option', async () => {
    const cases = await Promise.all([
      herald('rejections', '--limit', 'x'),
      herald('dead-letters', '--day', '2026-02-30'),
      herald('tail', 'u-1', '--count', '0'),
      herald('send', '--file', join(intentFiles, 'no-such-intent.json')),
      herald('send', '--type', 'ping', '--user', 'u-1', '--wait', '--timeout', '0'),
      herald('send', '--type', 'ping', '--user', 'u-1', '--timeout', '5'),
      herald('send', '--file', join(intentFiles, 'no-such-intent.json'), '--timeout', '5'),
    ]);

    expect(cases.map((c) => [c.code, c.stderr.trim()])).toEqual([
      [2, 'herald: --limit must be a whole number from 1 to 1000, not "x"'],
      [2, 'herald: --day must be a calendar day as YYYY-MM-DD (UTC), not "2026-02-30"'],
      [2, 'herald: --count must be a whole number from 1 to 1000000, not "0"'],
      [4, `herald: cannot read --file ${join(intentFiles, 'no-such-intent.json')}: no such file`],
      [2, 'herald: --timeout must be a whole number from 1 to 900, not "0"'],
      [2, 'herald: --timeout is how long --wait waits; add --wait'],
      [2, 'herald: --timeout is how long --wait waits; add --wait'],
    ]);
  });

  it('sends an intent file, then shows the notification and its routes', async () => {
    const email = `${uid('cli')}@example.com`;
    const file = join(intentFiles, `${uid('intent')}.json`);
    const sent = intent('welcome', { user_id: uid('cli'), email }, { name: 'Cli' });
    writeFileSync(file, JSON.stringify(sent));

    const result = await json('send', '--file', file);

    expect(result.notification_id).toBe(notificationIdFor('tests', sent.idempotency_key));
    await waitFor('both routes published', async () => {
      const routes = await store.listRoutes(result.notification_id);
      return (routes.length === 2 && routes.every((r) => r.status === 'published')) || undefined;
    });
    const status = await json('status', result.notification_id);
    expect(status.notification).toMatchObject({ notification_type: 'welcome', state: 'accepted', producer: 'tests' });
    expect(status.routes.map((r: { route_id: string; status: string }) => `${r.route_id}=${r.status}`).sort()).toEqual([`email:${sent.audience.user_id}=published`, `push:${sent.audience.user_id}=published`]);
    const byKey = await json('status', '--producer', 'tests', '--key', sent.idempotency_key);
    expect(byKey.notification.notification_id).toBe(result.notification_id);
    const table = await herald('status', result.notification_id);
    expect(table.stdout).toMatch(/route\s+status\s+attempts/);
    expect(table.stdout).toContain('published');
  });

  it('shows a route over its recipient\'s throttle as cancelled, with the reason throttled', async () => {
    // The test catalog's "digest": at most 3 per recipient per hour; the fourth is throttled.
    const user = uid('cli-throttled');
    const sent = Array.from({ length: 4 }, (_, n) => intent('digest', { user_id: user, email: `${user}@example.com` }, { n }));
    for (const one of sent) await sendIntent(one);
    const ids = sent.map((one) => notificationIdFor('tests', one.idempotency_key));
    const throttled = await waitFor('one notification throttled', async () => {
      for (const id of ids) {
        const routes = await store.listRoutes(id);
        if (routes.length === 2 && routes.every((r) => r.cancel_reason === 'throttled')) return id;
      }
      return undefined;
    });

    const status = await json('status', throttled);
    const table = await herald('status', throttled);

    expect(status.routes.map((r: { status: string; cancel_reason: string }) => `${r.status}/${r.cancel_reason}`)).toEqual(['cancelled/throttled', 'cancelled/throttled']);
    expect(table.stdout).toMatch(/cancelled\s+0\/\d+\s+throttled/);
  });

  it('says when the intent file was sent before: same key, so nothing new is sent', async () => {
    const file = join(intentFiles, `${uid('intent')}.json`);
    writeFileSync(file, JSON.stringify(intent('ping', { user_id: uid('again') }, { n: 1 })));

    const first = await json('send', '--file', file);
    await waitFor('the notification accepted', async () => (await store.getNotification(first.notification_id)) !== undefined);
    const again = await herald('send', '--file', file);

    expect(first.already_exists).toBe(false);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`notification ${first.notification_id}`);
    expect(again.stdout).toContain('note: producer "tests" already used idempotency_key');
    expect(again.stdout).toContain('Use a new key to send again.');
  });

  it("`npm run send -- <file>` runs herald send --file (the README's first step)", async () => {
    const file = join(intentFiles, `${uid('intent')}.json`);
    const sent = intent('ping', { user_id: uid('cli') }, { via: 'npm run send' });
    writeFileSync(file, JSON.stringify(sent));

    const result = await runCommand('npm', ['run', '--silent', 'send', '--', file, ...TEST_STACK, '--json']);

    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).notification_id).toBe(notificationIdFor('tests', sent.idempotency_key));
  });

  it('sends from flags and refuses a malformed intent before sending it (exit 4)', async () => {
    const user = uid('flags');
    const sent = await json('send', '--type', 'ping', '--user', user, '--payload', '{"hello":"cli"}');
    await waitFor('push published', async () => (await store.getRoute(sent.notification_id, `push:${user}`))?.status === 'published' || undefined);

    const bad = join(intentFiles, `${uid('bad')}.json`);
    writeFileSync(bad, JSON.stringify({ notification_type: 'ping', producer: 'cli' }));
    const refused = await herald('send', '--file', bad);
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('missing required field "idempotency_key"');

    const twice = join(intentFiles, `${uid('twice')}.json`);
    writeFileSync(twice, JSON.stringify({ notification_type: 'ping', producer: 'cli', idempotency_key: uid('twice-key'), audience: { kind: 'users', recipients: [{ user_id: user }, { user_id: user }] }, payload: {} }));
    const duplicate = await herald('send', '--file', twice);
    expect(duplicate.code).toBe(4);
    expect(duplicate.stderr).toContain(`intent is invalid (duplicate_recipient): recipient user_id "${user}" appears more than once`);
  });

  it('sends a file whose payload holds U+FFFF, a character SQS refuses in a body: escaped, and Herald stores it unchanged', async () => {
    const file = join(intentFiles, `${uid('nonchar')}.json`);
    const intent = { notification_type: 'ping', producer: 'cli', idempotency_key: uid('key'), audience: { kind: 'user', user_id: uid('nonchar') }, payload: { text: 'a\uFFFFb' } };
    writeFileSync(file, JSON.stringify(intent, null, 2));
    expect(readFileSync(file, 'utf8')).toContain('a\uFFFFb');

    const sent = await json('send', '--file', file, '--wait');

    expect(sent.outcome.kind).toBe('accepted');
    expect((await store.getNotification(sent.notification_id))?.payload).toEqual({ text: 'a\uFFFFb' });
  });

  it('waits with --wait for Herald to accept (exit 0) or reject (exit 4, with the reason) what it sent', async () => {
    const user = uid('wait');
    const key = uid('wait-key');
    const accepted = await herald('send', '--type', 'ping', '--user', user, '--key', key, '--payload', '{"n":1}', '--wait', '--json');
    expect(accepted.code, accepted.stderr).toBe(0);
    expect(JSON.parse(accepted.stdout).outcome).toEqual({ kind: 'accepted', routes: [`push:${user}`] });

    // The same key again: a duplicate leaves no trace, so --wait can only say no rejection came.
    const duplicate = await herald('send', '--type', 'ping', '--user', user, '--key', key, '--payload', '{"n":1}', '--wait', '--timeout', '2');
    expect(duplicate.code, duplicate.stderr).toBe(0);
    expect(duplicate.stdout).toContain('no rejection within 2 s: a duplicate of the accepted notification');
    const conflict = await herald('send', '--type', 'ping', '--user', user, '--key', key, '--payload', '{"n":2}', '--wait');
    expect(conflict.code).toBe(4);
    expect(conflict.stdout).toContain('rejected (idempotency_conflict): idempotency_key');

    const unknown = await herald('send', '--type', 'no.such.type', '--user', user, '--wait');
    expect(unknown.code).toBe(4);
    expect(unknown.stdout).toContain('rejected (unknown_notification_type): notification_type "no.such.type" is not in the catalog');
  });

  it('shows why a notification does not exist when its intent was rejected (exit 4)', async () => {
    const key = uid('rejected-key');
    await sendIntent(JSON.stringify(intent('no.such.type', { user_id: uid('u') }, {}, { idempotency_key: key })));
    const id = notificationIdFor('tests', key);
    const status = await waitFor('the rejection', async () => {
      const result = await herald('status', id);
      return result.code === 4 ? result : undefined;
    });
    expect(status.stdout.trim()).toMatch(new RegExp(`^${id} was rejected at \\S+ \\(unknown_notification_type\\): notification_type "no.such.type" is not in the catalog$`));
    const asJson = await herald('status', id, '--json');
    expect(asJson.code).toBe(4);
    expect(JSON.parse(asJson.stdout)).toMatchObject({ notification_id: id, rejection: { reason: 'unknown_notification_type', idempotency_key: key } });
  });

  it('answers an unknown notification with exit 3', async () => {
    const result = await herald('status', 'n_00000000000000000000000000000000');
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('notification n_00000000000000000000000000000000 not found: not accepted (yet, if it was just sent), and no rejection of it recorded');
  });

  it('lists recent rejections with their reasons', async () => {
    const marker = uid('rej');
    await sendIntent(JSON.stringify(intent('no.such.type', { user_id: 'u' }, {}, { idempotency_key: marker })));
    const found = await waitFor('rejection listed', async () => ((await json('rejections', '--limit', '500')) as { idempotency_key?: string; reason: string }[]).find((r) => r.idempotency_key === marker));
    expect(found.reason).toBe('unknown_notification_type');
  });

  it('lists dead-lettered routes by type and channel and redrives one with an explicit attempts policy', async () => {
    const email = `${uid('dl')}@example.com`;
    await addFault('ses', { match: email, status: 400, errorType: 'MessageRejected' });
    const sent = intent('once', { user_id: uid('dl'), email }, { n: 1 });
    await sendIntent(sent);
    const id = notificationIdFor('tests', sent.idempotency_key);
    const routeId = `email:${sent.audience.user_id}`;
    await waitFor('dead letter', async () => (await store.getRoute(id, routeId))?.status === 'dead_letter' || undefined);

    const listed = (await json('dead-letters', '--type', 'once', '--channel', 'email')) as { route_id: string; last_failure_classification: string }[];
    expect(listed.find((r) => r.route_id === routeId)).toMatchObject({ last_failure_classification: 'email_rejected' });
    expect(((await json('dead-letters', '--channel', 'push')) as { route_id: string }[]).some((r) => r.route_id === routeId)).toBe(false);

    expect((await herald('dead-letters', 'redrive', id, routeId)).code).toBe(2);
    await clearFaults('ses');
    await json('dead-letters', 'redrive', id, routeId, '--extra-attempts', '1');
    const route = await waitFor('redriven route published', async () => {
      const r = await store.getRoute(id, routeId);
      return r?.status === 'published' ? r : undefined;
    });
    expect(route).toMatchObject({ attempts: 2, max_attempts: 2 });
    expect(((await json('dead-letters')) as { route_id: string }[]).some((r) => r.route_id === routeId)).toBe(false);
  });

  it('moves a dead-letter queue\'s messages back to their source queue', async () => {
    const body = JSON.stringify({ notification_id: 'n_missing', route_id: `email:${uid('q')}` });
    await sqs.send(new SendMessageCommand({ QueueUrl: outputs.routeDlqUrl, MessageBody: body }));
    const result = await json('redrive-queue', 'route');
    expect(result.moved).toBeGreaterThanOrEqual(1);
    expect(await approximateDepth(outputs.routeDlqUrl)).toBe(0);
  });

  it('shows what EventBridge could not deliver (herald dlq bus) and puts it on the bus again (herald redrive-queue bus)', async () => {
    // Prepare: an intent event as EventBridge leaves it in the bus DLQ — the event as it was put on
    // the bus, with error attributes and no source queue (StartMessageMoveTask cannot move it).
    const busDlqUrl = outputs.busDlqUrl;
    const sent = intent('ping', { user_id: uid('bus-dlq') }, { hello: 'again' });
    const event = { version: '0', id: uid('event'), 'detail-type': 'herald.intent', source: 'shop', account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail: sent };
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: busDlqUrl,
        MessageBody: JSON.stringify(event),
        MessageAttributes: {
          RULE_ARN: { DataType: 'String', StringValue: 'arn:aws:events:us-east-1:000000000000:rule/bus/IntentsToIntake' },
          ERROR_CODE: { DataType: 'String', StringValue: 'SQS.AccessDenied' },
          ERROR_MESSAGE: { DataType: 'String', StringValue: 'The queue policy denies events.amazonaws.com' },
        },
      }),
    );

    // Act / Assess: listed, with the error, and still there afterwards.
    const listed = (await json('dlq', 'bus')) as { kind: string; about: string; error: string }[];
    expect(listed.find((row) => row.about.includes(sent.idempotency_key))).toMatchObject({ kind: 'event herald.intent', error: 'SQS.AccessDenied The queue policy denies events.amazonaws.com' });
    expect(await approximateDepth(busDlqUrl)).toBeGreaterThanOrEqual(1);

    // Act / Assess: put on the bus again, the intent is accepted, and the DLQ is empty.
    const redriven = await json('redrive-queue', 'bus');
    expect(redriven).toMatchObject({ put: 1, left: [] });
    await waitFor('the intent accepted', async () => (await store.getNotification(notificationIdFor('tests', sent.idempotency_key)))?.state === 'accepted');
    expect(await approximateDepth(busDlqUrl)).toBe(0);
  });

  it('mints a token the authorizer accepts, and tails a user\'s frames', async () => {
    const user = uid('tail');
    const minted = await json('token', '--user', user, '--session', 'cli');
    const { payload } = await jwtVerify(minted.token, new TextEncoder().encode(tokenSecret));
    expect(payload).toMatchObject({ sub: user, sid: 'cli' });

    let printed = '';
    const tailing = runCommand(process.execPath, heraldArgs(['tail', user, '--count', '1', '--timeout', '30', '--json']), {
      onStdout: (chunk) => {
        printed += chunk;
      },
    });
    // With no cursor the tail starts live: send only once it is on the stream.
    await waitFor('the tail to print replay_complete', async () => printed.includes('"replay_complete"'));
    await sendIntent(intent('ping', { user_id: user }, { via: 'tail' }));
    const result = await tailing;
    expect(result.code).toBe(0);
    const frames = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; payload?: unknown });
    expect(frames[0]).toMatchObject({ type: 'replay_complete' });
    expect(frames.find((f) => f.type === 'event')).toMatchObject({ payload: { via: 'tail' } });

    // From the first tail's starting cursor, for people: the missed event replayed, one line.
    const start = (frames[0] as unknown as { cursor: string }).cursor;
    const replay = await herald('tail', user, '--cursor', start, '--count', '1', '--timeout', '30');
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout.trim().split('\n')[0]).toBe('#1 ping {"via":"tail"}  (replayed)');
    expect(replay.stdout).not.toContain('[events]');
  });

  it('tails as one device session, naming the positions of another session\'s events, and refuses a malformed --cursor (exit 4)', async () => {
    const refused = await herald('tail', 'u-1', '--cursor', 'not a cursor');
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('--cursor: cursor must be a non-empty base64url string issued by Herald');

    const user = uid('tail-sessions');
    let printed = '';
    const tailing = runCommand(process.execPath, heraldArgs(['tail', user, '--session', 'laptop', '--count', '1', '--timeout', '30']), {
      onStdout: (chunk) => (printed += chunk),
    });
    await waitFor('the tail on the stream', async () => printed.includes('[replay_complete]'));
    // One after the other, so that the phone's event takes position 1.
    await sendIntent(intent('ping', { user_id: user }, { n: 1 }, { audience: { kind: 'user', user_id: user, device_session_id: 'phone' } }));
    await waitFor('the phone event stored', async () => (await eventBuffer.getHead(user))?.position === 1);
    await sendIntent(intent('ping', { user_id: user }, { n: 2 }));

    const result = await tailing;
    expect(result.code, result.stderr).toBe(0);
    // The server does not post the phone's event to the laptop: the laptop's client sees #2 after a
    // gap and resumes to fill it, so #2 may come in the replay (marked) rather than live.
    const lines = result.stdout.split('\n').filter((line) => line.startsWith('#'));
    expect(lines.map((line) => line.replace(/ {2}\(replayed\)$/, ''))).toEqual(['#1 (for another device session)', '#2 ping {"n":2}']);
  });
});
