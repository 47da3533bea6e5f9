import { describe, expect, it } from 'vitest';
import { DynamoUserStates } from '../../functions/adapters/DynamoUserStates.ts';
import { UNSUBSCRIBE_TOKEN_TTL_SECONDS, UnsubscribeTokens } from '../../functions/core/preferences/unsubscribeTokens.ts';
import { notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { documents, endpoints, intent, outputs, sendIntent, store, uid, waitFor } from './support.ts';

const users = new DynamoUserStates(documents, outputs.tableName);
const unsubscribeKey = Object.entries(endpoints.secrets).find(([id]) => id.includes('UnsubscribeSecret'))![1];

/** An email as the SES emulator captured it, with the custom headers it was sent with. */
interface MailWithHeaders {
  readonly subject: string;
  readonly destination: { to: string[] };
  readonly body: { text?: string; html?: string };
  readonly headers?: { name: string; value: string }[];
}

async function mailTo(to: string, count: number): Promise<MailWithHeaders[]> {
  return waitFor(`${count} email(s) to ${to}`, async () => {
    const { emails } = (await (await fetch(`${endpoints.sesMailbox}/store`)).json()) as { emails: MailWithHeaders[] };
    const mine = emails.filter((e) => e.destination.to.includes(to));
    return mine.length === count ? mine : undefined;
  });
}

const header = (mail: MailWithHeaders, name: string) => mail.headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;

async function settled(id: string) {
  return waitFor(`the route of ${id} settled`, async () => {
    const [route] = await store.listRoutes(id);
    return route && ['published', 'cancelled', 'dead_letter'].includes(route.status) ? route : undefined;
  });
}

describe('one-click unsubscribe (RFC 8058) on the offline stack', () => {
  it('puts the link in the headers and the template; GET only shows a page, POST turns that type off by email, and the next one is not sent', async () => {
    // Prepare: a user who opted in to the newsletter (an opt-in type), and one newsletter sent.
    const user = uid('unsub');
    const address = `${user}@example.com`;
    expect(await users.putPreferences(user, { types: { newsletter: { email: true } } }, Date.now())).toBe('stored');
    const first = intent('newsletter', { user_id: user, email: address }, { n: 1 });
    await sendIntent(first);
    const [mail] = await mailTo(address, 1);

    // Assess the email: both headers, the same link in the body.
    const listUnsubscribe = header(mail!, 'List-Unsubscribe');
    expect(listUnsubscribe).toMatch(/^<http:\/\/127\.0\.0\.1:\d+\/v1\/unsubscribe\?token=[\w-]+\.[\w-]+\.[\w-]+>$/);
    expect(header(mail!, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const link = listUnsubscribe!.slice(1, -1);
    expect(mail!.body.html).toContain(`href="${link}"`);

    // Act 1: a link scanner opens it.
    const page = await fetch(link);
    // Assess: a page with a button, and nothing changed.
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<form method="post">');
    expect((await users.getPreferences(user)).preferences).toEqual({ types: { newsletter: { email: true } } });

    // Act 2: the mail client's one-click POST (RFC 8058 §3.2), twice (a retried request).
    const post = () => fetch(link, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    const answers = [await post(), await post()];
    const second = intent('newsletter', { user_id: user, email: address }, { n: 2 });
    await sendIntent(second);

    // Assess: turned off (once is enough, again changes nothing), and the next newsletter is not attempted.
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect((await users.getPreferences(user)).preferences).toEqual({ types: { newsletter: { email: false } } });
    expect(await settled(notificationIdFor('tests', second.idempotency_key))).toMatchObject({ status: 'cancelled', cancel_reason: 'preference' });
    expect(await mailTo(address, 1)).toHaveLength(1);
  });

  it('sends a type that requires email without an unsubscribe link', async () => {
    const user = uid('required');
    const address = `${user}@example.com`;
    await sendIntent(intent('security.alert', { user_id: user, email: address }, { where: 'Lisbon' }));
    const [mail] = await mailTo(address, 1);
    expect(header(mail!, 'List-Unsubscribe')).toBeUndefined();
    expect(header(mail!, 'List-Unsubscribe-Post')).toBeUndefined();
  });

  it.each([
    ['an altered link', async (user: string) => `${await new UnsubscribeTokens(unsubscribeKey).sign({ userId: user, notificationType: 'receipt', channel: 'email' }, Date.now())}x`, 'not valid'],
    ['a link signed with another key', async (user: string) => new UnsubscribeTokens('k'.repeat(64)).sign({ userId: user, notificationType: 'receipt', channel: 'email' }, Date.now()), 'not valid'],
    ['an expired link', async (user: string) => new UnsubscribeTokens(unsubscribeKey).sign({ userId: user, notificationType: 'receipt', channel: 'email' }, Date.now() - (UNSUBSCRIBE_TOKEN_TTL_SECONDS + 60) * 1000), 'expired'],
    ['a link with no token', async () => '', 'not valid'],
  ])('refuses %s with a page saying why, and changes nothing', async (_name, tokenFor, says) => {
    const user = uid('forged');
    const token = await tokenFor(user);
    const answer = await fetch(`${endpoints.httpApi}/v1/unsubscribe?token=${token}`, { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain(says);
    expect((await users.getPreferences(user)).preferences).toEqual({});
  });
});
