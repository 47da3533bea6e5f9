import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, DeleteMessageBatchCommand, StartMessageMoveTaskCommand, GetQueueAttributesCommand, type Message } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { StreamMark } from '../client/types.ts';
import { mintAccessToken } from '../functions/core/auth/AccessTokenVerifier.ts';
import { decodeCursor, MalformedCursorError } from '../functions/core/push/cursorCodec.ts';
import { validateIntentBeforeSending } from '../functions/core/intent/validateIntent.ts';
import { notificationIdFor } from '../functions/core/route/identifiers.ts';
import { SqsRouteQueue } from '../functions/adapters/SqsRouteQueue.ts';
import { sqsSafeJson } from '../functions/adapters/sqsSafeJson.ts';
import { CHANNELS, deliveryMessageFor, systemClock, type Channel } from '../functions/core/types.ts';
import { validatePreferences, withChannel, withTypeChannel, type UserPreferences } from '../functions/core/preferences/preferences.ts';
import { changePreferences } from '../functions/core/preferences/PreferencesApi.ts';
import { normalizeEmailAddress } from '../functions/core/email/emailFeedback.ts';
import { publicItem, type InboxFilter } from '../functions/core/inbox/InboxService.ts';
import { resolveTarget, type HeraldTarget } from './HeraldTarget.ts';
import { TailConnectError, tailUser } from './tailUser.ts';
import { verifyDeployment } from './verifyDeployment.ts';
import { dayOption, integerOption, type Values } from './options.ts';
import { CliError, EXIT, iso, printTable } from './output.ts';

const COMMON = `
Target (default: the offline stack started by \`npm start\`):
  --endpoints <file>   offline endpoints document (default .local/endpoints.json)
  --stack <name>       a deployed stack (credentials, region and profile resolve as usual)
  --region <r>  --profile <p>
Output: tables for people; --json for scripts.
Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 invalid input, 5 target unavailable.`;

const HELP: Record<string, string> = {
  main: `herald — operate Herald

Commands:
  send           send an intent (validated against schema/intent.v1.schema.json first)
  status         a notification and every route
  rejections     recent rejected intents and why
  dead-letters   list dead-lettered routes; \`dead-letters redrive\` tries them again
  dlq            show what waits in a dead-letter queue (intake, route, lifecycle, feedback, bus)
  redrive-queue  send a dead-letter queue's messages back where they failed
  verify         prove a deployment works end to end (run it right after cdk deploy)
  token          mint a connection token for a user and device session
  tail           connect as a user and print their events as they arrive
  preferences    show or change what a user receives (types and channels turned off or on)
  suppression    show, add or remove an address on the suppression list (hard bounces, complaints)
  inbox          a user's in-app inbox: items and counts

Run \`herald <command> --help\` for examples.${COMMON}`,
  send: `herald send — send a notification intent to the intake queue

  herald send --file examples/welcome.json
  herald send --type friend.request --user u-42 --payload '{"from":"grace"}'
  herald send --type welcome --user u-42 --email ada@example.com --payload '{"name":"Ada"}' --key signup-42

  herald send --file examples/welcome.json --wait         (wait for Herald to accept or reject it)

Options: --file <intent.json> | --type <t> --user <id> [--email <e>] [--session <sid>] [--payload <json>]
         [--producer <p> (default cli)] [--key <idempotency key> (default random)]
         [--wait [--timeout <1–900 s> (default 10)]]
The intent is checked before it is sent (schema, size, duplicate recipients: exit 4 and nothing sent);
the type and payload limit need the deployed catalog and config, so Herald checks those.
Acceptance is asynchronous: without --wait, sent means queued. With --wait: exit 0 accepted, 4 rejected
(reason and message shown), 1 no outcome in time.
The same producer and key again is the same notification: nothing new is sent (the output notes it).${COMMON}`,
  status: `herald status — show a notification and its routes

  herald status n_58e0c1f2…
  herald status --producer accounts --key signup-42
  herald status n_58e0c1f2… --json

Exit 3 when there is no such notification; 4 when its intent was rejected (today or yesterday, UTC:
the reason is shown).${COMMON}`,
  rejections: `herald rejections — list rejected intents (newest first)

  herald rejections
  herald rejections --day 2026-11-21 --limit 20 --json

Options: --day <YYYY-MM-DD, UTC> (default today)  --limit <1–1000> (default 50)${COMMON}`,
  'dead-letters': `herald dead-letters — list dead-lettered routes, or redrive one

  herald dead-letters
  herald dead-letters --type welcome --channel email --day 2026-11-21
  herald dead-letters redrive <notification_id> <route_id> --extra-attempts 3
  herald dead-letters redrive <notification_id> <route_id> --reset-attempts

Options: --day <YYYY-MM-DD, UTC> (default today)  --limit <1–1000> (default 100)  --type <t>  --channel <push|email>
Redrive needs an explicit attempts policy: --reset-attempts (a fresh budget) or --extra-attempts N (1–50).${COMMON}`,
  dlq: `herald dlq — show the messages waiting in a dead-letter queue, without removing them

  herald dlq intake       intents the accept function failed on every receive
  herald dlq route        route messages that crashed the deliver function
  herald dlq lifecycle    lifecycle events the lifecycle function failed on every receive
  herald dlq feedback     SES events (bounces, complaints…) the feedback function failed on every receive
  herald dlq bus          events EventBridge could not deliver to the intake, lifecycle or feedback queue
  herald dlq bus --limit 20 --json

Options: --limit <1–100> (default 10)${COMMON}`,
  'redrive-queue': `herald redrive-queue — send a dead-letter queue's messages back where they failed

  herald redrive-queue intake       back to the intake queue
  herald redrive-queue route        back to the route queue
  herald redrive-queue lifecycle    back to the lifecycle queue
  herald redrive-queue feedback     back to the feedback queue
  herald redrive-queue bus          put each event on the bus again (its rule routes it)

intake, route, lifecycle and feedback use SQS StartMessageMoveTask (where the endpoint lacks it, the
offline stack, the CLI moves them itself). The bus DLQ holds EventBridge failure records, which SQS
cannot move (no source queue): each event is put on Herald's bus again and deleted once the bus took
it — except SES's events (source aws.ses, which no one but SES may put on a bus): those go straight
to the feedback queue, where their rule would have put them.${COMMON}`,
  verify: `herald verify — prove a deployment works end to end, and say precisely what does not

  herald verify --stack Herald
  herald verify --stack Herald --email you@example.com    (also send an email; in the SES sandbox, a verified address)
  herald verify --stack Herald --token <JWT>               (JWKS deployments: a token for a throw-away user)
  herald verify                                            (the offline stack)

Checks, in order, stopping at the first failure: the stack's outputs; the SES account (sandbox?) and
the sender identity; a push event over the real WebSocket (token minted with the stack's secret,
read from TokenSecretArn, or --secret); replay from a cursor after a reconnect; session.revoked on
the bus ending the session; with --email, an email route published. Then it deletes its throw-away
user (user.deleted). Each line has its time; a failure names the AWS error and the likely cause.
Options: --timeout <seconds per step, 1–900> (default 30)  --secret <HS256 key>  --token <JWT>  --email <address>
Exit 0 every check passed (warnings allowed), 1 a check failed.${COMMON}`,
  token: `herald token — mint a connection token (HS256)

  herald token --user u-42 --session phone
  herald token --user u-42 --session phone --ttl 3600 --json
  herald token --stack Herald --secret "$(aws secretsmanager get-secret-value …)" --user u-42 --session phone

Options: --ttl <seconds, 1–604800> (default 3600)
Against a deployed stack it refuses unless --secret is given explicitly.${COMMON}`,
  tail: `herald tail — connect as a user (dev token) and print their events as they arrive

  herald tail u-42
  herald tail u-42 --session laptop --cursor <cursor>   (replay what came after <cursor> first)
  herald tail u-42 --count 5 --timeout 30    (exit after 5 events or 30 s)

Options: --count <events, 1–1000000> (default: until Ctrl-C)  --timeout <seconds, 0–86400> (0 = none)
It runs on the client SDK: it pings below API Gateway's idle timeout and, when a connection ends
(2-hour limit, network), reconnects with a fresh token and resumes, so every event comes once and
in order; reconnects are noted on stderr. --count counts events so delivered.
For people: one line per event (#position kind payload; replayed ones marked; positions of other
device sessions' events named), other frames by type. With --json: every frame exactly as
received, one per line (after a reconnect a replay may repeat an event; the count does not).${COMMON}`,
  preferences: `herald preferences — show or change a user's notification preferences

  herald preferences get --user u-42
  herald preferences set --user u-42 --type digest --channel email --off     (one type on one channel)
  herald preferences set --user u-42 --channel email --off                   (a whole channel; required types stay on)
  herald preferences set --user u-42 --file preferences.json                 (replace them all)

A preferences document: {"channels":{"email":false},"types":{"digest":{"email":true}}} (docs/preferences.md).
The catalog decides what a choice means: a type's required channels are delivered whatever is chosen,
an opt-in type (default "off") only to users who turned it on. The CLI checks the document's shape;
it does not know the catalog, so a choice for a type the catalog lacks is stored and has no effect.
A change applies to intents accepted from about a second later. A deleted user has none (exit 4).
Options: --user <id>  --type <t> --channel <push|email> --on | --off  |  --file <preferences.json>${COMMON}`,
  inbox: `herald inbox — a user's in-app inbox, newest first, with the unseen and unread counts

  herald inbox --user u-42
  herald inbox --user u-42 --filter unread --limit 50 --json
  herald inbox --user u-42 --cursor <next>              (the next page)

Options: --user <id>  --filter <inbox|unread|archived|all> (default inbox)  --type <t>  --limit <1–100> (default 20)  --cursor <c>${COMMON}`,
  suppression: `herald suppression — the addresses Herald sends no email to

  herald suppression get --email ada@example.com
  herald suppression remove --email ada@example.com      (after the recipient fixed their mailbox, or asked to be mailed again)
  herald suppression add --email ada@example.com         (stop emailing an address by hand)

A hard bounce or a complaint reported by SES adds the address (docs/email-feedback.md); an email route
to a listed address is created cancelled (suppressed) without calling SES. Removing it does not remove
it from SES's own account-level suppression list: \`aws sesv2 delete-suppressed-destination --email-address …\`.
Exit 3 when get or remove finds the address not listed.

Options: --email <address>${COMMON}`,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP['main']);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (!(command in HELP) || command === 'main') throw new CliError(`unknown command "${command}"; see herald --help`, EXIT.usage);
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' }, endpoints: { type: 'string' }, stack: { type: 'string' },
        region: { type: 'string' }, profile: { type: 'string' }, file: { type: 'string' }, type: { type: 'string' }, user: { type: 'string' },
        email: { type: 'string' }, session: { type: 'string' }, payload: { type: 'string' }, producer: { type: 'string' }, key: { type: 'string' },
        day: { type: 'string' }, limit: { type: 'string' }, channel: { type: 'string' }, 'extra-attempts': { type: 'string' },
        'reset-attempts': { type: 'boolean' }, ttl: { type: 'string' }, secret: { type: 'string' }, cursor: { type: 'string' },
        count: { type: 'string' }, timeout: { type: 'string' }, wait: { type: 'boolean' }, token: { type: 'string' },
        on: { type: 'boolean' }, off: { type: 'boolean' }, filter: { type: 'string' },
      },
    });
  } catch (error) {
    throw new CliError(`${(error as Error).message}; see herald ${command} --help`, EXIT.usage);
  }
  const { values, positionals } = parsed as { values: Values; positionals: string[] };
  if (values['help']) {
    console.log(HELP[command]);
    return EXIT.ok;
  }
  const target = await resolveTarget({
    ...(typeof values['endpoints'] === 'string' ? { endpoints: values['endpoints'] } : {}),
    ...(typeof values['stack'] === 'string' ? { stack: values['stack'] } : {}),
    ...(typeof values['region'] === 'string' ? { region: values['region'] } : {}),
    ...(typeof values['profile'] === 'string' ? { profile: values['profile'] } : {}),
  });
  const json = values['json'] === true;
  const emit = (value: unknown, table: () => void) => (json ? console.log(JSON.stringify(value, null, 2)) : table());
  switch (command) {
    case 'send':
      return send(target, values, emit);
    case 'status':
      return status(target, values, positionals, emit);
    case 'rejections':
      return rejections(target, values, emit);
    case 'dead-letters':
      return deadLetters(target, values, positionals, emit);
    case 'redrive-queue':
      return redriveQueue(target, positionals, emit);
    case 'dlq':
      return showDeadLetterQueue(target, values, positionals, emit);
    case 'verify':
      return verify(target, values, json);
    case 'token':
      return token(target, values, emit);
    case 'tail':
      return tail(target, values, positionals, json);
    case 'preferences':
      return preferences(target, values, positionals, emit);
    case 'suppression':
      return suppression(target, values, positionals, emit);
    case 'inbox':
      return inbox(target, values, emit);
  }
  return EXIT.usage;
}

type Emit = (value: unknown, table: () => void) => void;

async function send(target: HeraldTarget, values: Values, emit: Emit): Promise<number> {
  // A usage mistake is reported as one, whatever the intent holds.
  if (values['timeout'] !== undefined && values['wait'] !== true) throw new CliError('--timeout is how long --wait waits; add --wait', EXIT.usage);
  const waitMs = values['wait'] === true ? integerOption(values, 'timeout', { min: 1, max: 900 }, 10) * 1000 : undefined;
  let body: string;
  if (typeof values['file'] === 'string') {
    body = readIntentFile(values['file']);
  } else {
    if (typeof values['type'] !== 'string' || typeof values['user'] !== 'string') throw new CliError('send needs --file, or --type and --user', EXIT.usage);
    let payload: unknown = {};
    try {
      payload = JSON.parse(typeof values['payload'] === 'string' ? values['payload'] : '{}');
    } catch {
      throw new CliError('--payload is not valid JSON', EXIT.invalidInput);
    }
    body = JSON.stringify({
      notification_type: values['type'],
      producer: values['producer'] ?? 'cli',
      idempotency_key: values['key'] ?? `cli-${crypto.randomUUID()}`,
      audience: { kind: 'user', user_id: values['user'], ...(values['email'] ? { email: values['email'] } : {}), ...(values['session'] ? { device_session_id: values['session'] } : {}) },
      payload,
    });
  }
  // The CLI knows the stack's outputs, not its catalog or payload limit: those checks are Herald's.
  const checked = validateIntentBeforeSending(body);
  if (!checked.ok) throw new CliError(`intent is invalid (${checked.reason}): ${checked.message}`, EXIT.invalidInput);
  const notificationId = notificationIdFor(checked.intent.producer, checked.intent.idempotency_key);
  // Re-sending a file is the commonest way to "send again" and sends nothing new: say so.
  const before = await target.store.getNotification(notificationId);
  const sentAt = Date.now();
  const sent = await target.sqs.send(new SendMessageCommand({ QueueUrl: target.outputs['HeraldIntakeQueueUrl']!, MessageBody: sqsSafeJson(body) }));
  const result = { message_id: sent.MessageId, notification_id: notificationId, already_exists: before !== undefined };
  const outcome =
    waitMs === undefined ? undefined : await waitForOutcome(target, { messageId: sent.MessageId!, notificationId, sentAt, waitMs, acceptedBefore: before?.state === 'accepted' });
  emit(outcome ? { ...result, outcome } : result, () => {
    console.log(`sent message ${result.message_id}\nnotification ${result.notification_id} (herald status ${result.notification_id})`);
    if (before) {
      console.log(
        `note: producer "${checked.intent.producer}" already used idempotency_key "${checked.intent.idempotency_key}": the same content is a duplicate (nothing is sent again), different content is rejected as idempotency_conflict. Use a new key to send again.`,
      );
    }
    if (outcome) console.log(describeOutcome(outcome, waitMs!));
  });
  if (outcome?.kind === 'rejected') return EXIT.invalidInput;
  return outcome?.kind === 'no_outcome' ? EXIT.failure : EXIT.ok;
}

type SendOutcome =
  | { readonly kind: 'accepted'; readonly routes: readonly string[] }
  | { readonly kind: 'rejected'; readonly reason: string; readonly message: string; readonly rejected_at: number }
  /** A resent intent whose notification was already accepted: a duplicate leaves no trace, a conflict a rejection. */
  | { readonly kind: 'no_rejection' }
  | { readonly kind: 'no_outcome' };

/** SentTimestamp is the queue's clock, not ours: look this far either side of our send time. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** Acceptance is asynchronous: polls until Herald accepted the notification or recorded this message's rejection. */
async function waitForOutcome(
  target: HeraldTarget,
  sending: { readonly messageId: string; readonly notificationId: string; readonly sentAt: number; readonly waitMs: number; readonly acceptedBefore: boolean },
): Promise<SendOutcome> {
  const deadline = Date.now() + sending.waitMs;
  const window = { days: [sending.sentAt + CLOCK_SKEW_MS, sending.sentAt - CLOCK_SKEW_MS], sentAfter: sending.sentAt - CLOCK_SKEW_MS };
  for (;;) {
    if (!sending.acceptedBefore && (await target.store.getNotification(sending.notificationId))?.state === 'accepted') {
      const routes = await target.store.listRoutes(sending.notificationId);
      return { kind: 'accepted', routes: routes.map((r) => r.route_id) };
    }
    const rejection = await target.rejections.find({ source_id: sending.messageId }, window);
    if (rejection) return { kind: 'rejected', reason: rejection.reason, message: rejection.message, rejected_at: rejection.rejected_at };
    if (Date.now() >= deadline) return { kind: sending.acceptedBefore ? 'no_rejection' : 'no_outcome' };
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function describeOutcome(outcome: SendOutcome, waitMs: number): string {
  switch (outcome.kind) {
    case 'accepted':
      return `accepted: ${outcome.routes.length} route${outcome.routes.length === 1 ? '' : 's'} (${outcome.routes.join(', ')})`;
    case 'rejected':
      return `rejected (${outcome.reason}): ${outcome.message}`;
    case 'no_rejection':
      return `no rejection within ${waitMs / 1000} s: a duplicate of the accepted notification (a conflict would have been rejected)`;
    case 'no_outcome':
      return `no outcome within ${waitMs / 1000} s: not accepted or rejected yet (is the accept function running, the intake queue backed up?)`;
  }
}

function readIntentFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read --file ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message}`, EXIT.invalidInput);
  }
}

async function status(target: HeraldTarget, values: Values, positionals: string[], emit: Emit): Promise<number> {
  const id = positionals[0] ?? (typeof values['producer'] === 'string' && typeof values['key'] === 'string' ? notificationIdFor(values['producer'], values['key']) : undefined);
  if (!id) throw new CliError('status needs <notification_id>, or --producer and --key', EXIT.usage);
  const notification = await target.store.getNotification(id);
  if (!notification) {
    // An intent that was rejected has no notification, but its rejection names the id.
    const now = Date.now();
    const rejection = await target.rejections.find({ notification_id: id }, { days: [now, now - 86_400_000] });
    if (!rejection) throw new CliError(`notification ${id} not found: not accepted (yet, if it was just sent), and no rejection of it recorded today or yesterday (UTC)`, EXIT.notFound);
    emit({ notification_id: id, rejection }, () => console.log(`${id} was rejected at ${iso(rejection.rejected_at)} (${rejection.reason}): ${rejection.message}`));
    return EXIT.invalidInput;
  }
  const routes = await target.store.listRoutes(id);
  emit({ notification, routes }, () => {
    console.log(`${notification.notification_id}  ${notification.notification_type}  ${notification.state}  producer=${notification.producer} key=${notification.idempotency_key}  accepted ${iso(notification.accepted_at)}`);
    printTable(
      routes.map((r) => ({
        route: r.route_id, status: r.status, attempts: `${r.attempts}/${r.max_attempts}`,
        next_attempt: r.status === 'failed' || r.status === 'pending' ? iso(r.next_attempt_at) : '',
        failure: r.last_failure_classification ?? '', message: r.last_failure_message ?? r.cancel_reason ?? '',
        cursor: r.stream_position !== undefined ? `#${r.stream_position}` : '',
        // What SES reported after the send: delivered, bounced (type/subtype: diagnostic), complained…
        email: r.email_feedback
          ? [r.email_feedback.outcome, r.email_feedback.bounce_sub_type ? `${r.email_feedback.bounce_type}/${r.email_feedback.bounce_sub_type}` : '', r.email_feedback.diagnostic ?? ''].filter(Boolean).join(' ')
          : r.email_message_id ? 'sent' : '',
      })),
      ['route', 'status', 'attempts', 'next_attempt', 'failure', 'message', 'cursor', 'email'],
    );
  });
  return EXIT.ok;
}

async function inbox(target: HeraldTarget, values: Values, emit: Emit): Promise<number> {
  const user = values['user'];
  if (typeof user !== 'string' || user === '') throw new CliError('inbox needs --user <id>', EXIT.usage);
  if (!target.inbox) throw new CliError('this stack has no push, so no inbox', EXIT.usage);
  const filter = (values['filter'] ?? 'inbox') as InboxFilter;
  if (!['inbox', 'unread', 'archived', 'all'].includes(filter)) throw new CliError('--filter must be inbox, unread, archived or all', EXIT.usage);
  const limit = integerOption(values, 'limit', { min: 1, max: 100 }, 20);
  const now = Date.now();
  let page;
  try {
    page = await target.inbox.list(user, { filter, limit, ...(typeof values['type'] === 'string' ? { type: values['type'] } : {}), ...(typeof values['cursor'] === 'string' ? { cursor: values['cursor'] } : {}) }, now);
  } catch (error) {
    if ((error as Error).name === 'InvalidInboxCursorError') throw new CliError('--cursor is not one herald inbox printed', EXIT.invalidInput);
    throw error;
  }
  const counts = await target.inbox.counts(user, now);
  emit({ user_id: user, items: page.items.map(publicItem), ...(page.next ? { next: page.next } : {}), counts }, () => {
    console.log(`${user}: ${counts.unread} unread, ${counts.unseen} unseen`);
    printTable(page.items.map((i) => ({ item: i.item_id, type: i.notification_type, state: i.state, archived: i.archived ? 'yes' : '', created: iso(i.created_at) })), ['item', 'type', 'state', 'archived', 'created']);
    if (page.next) console.log(`more: --cursor ${page.next}`);
  });
  return EXIT.ok;
}

async function suppression(target: HeraldTarget, values: Values, positionals: string[], emit: Emit): Promise<number> {
  const [action] = positionals;
  if ((action !== 'get' && action !== 'add' && action !== 'remove') || typeof values['email'] !== 'string' || !values['email'].includes('@')) {
    throw new CliError('suppression needs get, add or remove, and --email <address>', EXIT.usage);
  }
  const email = normalizeEmailAddress(values['email']);
  if (action === 'get') {
    const entry = await target.suppressions.get(email);
    if (!entry) throw new CliError(`${email} is not on the suppression list`, EXIT.notFound);
    emit(entry, () => {
      console.log(`${entry.email} suppressed ${iso(entry.suppressed_at)} (${entry.reason}${entry.bounce_sub_type ? `, ${entry.bounce_type}/${entry.bounce_sub_type}` : ''})`);
      if (entry.diagnostic) console.log(`  ${entry.diagnostic}`);
      if (entry.notification_id) console.log(`  from ${entry.notification_id} ${entry.route_id ?? ''} (SES message ${entry.message_id ?? '?'})`);
    });
    return EXIT.ok;
  }
  if (action === 'add') {
    const added = await target.suppressions.suppress({ email, reason: 'manual', suppressed_at: Date.now() });
    emit({ email, outcome: added }, () => console.log(added === 'added' ? `${email} added to the suppression list` : `${email} was already on the suppression list`));
    return EXIT.ok;
  }
  const removed = await target.suppressions.remove(email);
  if (!removed) throw new CliError(`${email} is not on the suppression list`, EXIT.notFound);
  emit({ email, outcome: 'removed' }, () => console.log(`${email} removed from the suppression list: the next email to it is sent`));
  return EXIT.ok;
}

async function preferences(target: HeraldTarget, values: Values, positionals: string[], emit: Emit): Promise<number> {
  const [action] = positionals;
  const user = values['user'];
  if ((action !== 'get' && action !== 'set') || typeof user !== 'string' || user === '') throw new CliError('preferences needs get or set, and --user <id>', EXIT.usage);
  const show = (stored: { preferences: UserPreferences; updatedAt?: number }) =>
    emit({ user_id: user, preferences: stored.preferences, ...(stored.updatedAt !== undefined ? { updated_at: stored.updatedAt } : {}) }, () => {
      const rows = [
        ...Object.entries(stored.preferences.channels ?? {}).map(([channel, on]) => ({ type: '(every type)', channel, receives: on ? 'yes' : 'no' })),
        ...Object.entries(stored.preferences.types ?? {}).flatMap(([type, byChannel]) => Object.entries(byChannel).map(([channel, on]) => ({ type, channel, receives: on ? 'yes' : 'no' }))),
      ];
      if (rows.length === 0) console.log(`${user} has made no choices: every type as the catalog sets it`);
      else printTable(rows, ['type', 'channel', 'receives']);
      if (stored.updatedAt !== undefined) console.log(`set ${iso(stored.updatedAt)}`);
    });
  if (action === 'get') {
    const stored = await target.users.getPreferences(user);
    if (stored.deleted) throw new CliError(`user ${user} is deleted (user.deleted): Herald keeps no preferences for them`, EXIT.invalidInput);
    show(stored);
    return EXIT.ok;
  }
  const change = preferenceChange(values);
  const changed = await changePreferences(target.users, user, (current) => {
    const checked = validatePreferences(change(current));
    if (!checked.ok) throw new CliError(`preferences are invalid: ${checked.message}`, EXIT.invalidInput);
    return checked.preferences;
  }, systemClock);
  if (changed.outcome === 'deleted') throw new CliError(`user ${user} is deleted (user.deleted): preferences cannot be set`, EXIT.invalidInput);
  if (changed.outcome !== 'stored') throw new CliError(`the preferences of ${user} kept changing while being set; try again`, EXIT.failure);
  show({ preferences: changed.preferences, updatedAt: changed.updatedAt });
  return EXIT.ok;
}

/** What `preferences set` asks for: a whole document (--file), or one choice (--channel with --on/--off, and --type for one type). */
function preferenceChange(values: Values): (current: UserPreferences) => unknown {
  if (typeof values['file'] === 'string') {
    if (values['type'] !== undefined || values['channel'] !== undefined) throw new CliError('give --file, or --channel [--type] with --on/--off, not both', EXIT.usage);
    const text = readIntentFile(values['file']);
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch (error) {
      throw new CliError(`--file ${values['file']} is not JSON: ${(error as Error).message}`, EXIT.invalidInput);
    }
    return () => document;
  }
  const channel = values['channel'];
  if (typeof channel !== 'string' || !CHANNELS.includes(channel as Channel)) throw new CliError(`--channel must be one of ${CHANNELS.join(', ')}`, EXIT.usage);
  if ((values['on'] === true) === (values['off'] === true)) throw new CliError('say --on or --off', EXIT.usage);
  const on = values['on'] === true;
  const type = values['type'];
  return typeof type === 'string' ? (current) => withTypeChannel(current, type, channel as Channel, on) : (current) => withChannel(current, channel as Channel, on);
}

async function rejections(target: HeraldTarget, values: Values, emit: Emit): Promise<number> {
  const day = Date.parse(`${dayOption(values)}T00:00:00Z`);
  const list = await target.rejections.listDay(day, integerOption(values, 'limit', { min: 1, max: 1000 }, 50));
  emit(list, () => printTable(list.map((r) => ({ at: iso(r.rejected_at), reason: r.reason, producer: r.producer, key: r.idempotency_key, message: r.message })), ['at', 'reason', 'producer', 'key', 'message']));
  return EXIT.ok;
}

async function deadLetters(target: HeraldTarget, values: Values, positionals: string[], emit: Emit): Promise<number> {
  if (positionals[0] === 'redrive') {
    const [, notificationId, routeId] = positionals;
    if (!notificationId || !routeId) throw new CliError('dead-letters redrive needs <notification_id> <route_id>', EXIT.usage);
    const reset = values['reset-attempts'] === true;
    const extra = values['extra-attempts'] === undefined ? undefined : integerOption(values, 'extra-attempts', { min: 1, max: 50 }, 0);
    if (reset === (extra !== undefined)) throw new CliError('say how many attempts: --reset-attempts or --extra-attempts N', EXIT.usage);
    const route = await target.store.getRoute(notificationId, routeId);
    if (!route) throw new CliError(`route ${routeId} of ${notificationId} not found`, EXIT.notFound);
    if (route.status !== 'dead_letter') throw new CliError(`route ${routeId} is ${route.status}, not dead_letter`, EXIT.failure);
    if (!(await target.store.redriveDeadLetter(route, { resetAttempts: reset, extraAttempts: extra ?? 0 }, Date.now()))) {
      throw new CliError(`route ${routeId} changed meanwhile; look again`, EXIT.failure);
    }
    await new SqsRouteQueue(target.sqs, target.outputs['HeraldRouteQueueUrl']!).enqueue([deliveryMessageFor(route)]);
    emit({ redriven: { notification_id: notificationId, route_id: routeId } }, () => console.log(`redriven ${routeId}; follow it with herald status ${notificationId}`));
    return EXIT.ok;
  }
  let routes = await target.store.listDeadLetters(dayOption(values), integerOption(values, 'limit', { min: 1, max: 1000 }, 100));
  if (typeof values['channel'] === 'string') routes = routes.filter((r) => r.channel === values['channel']);
  if (typeof values['type'] === 'string') {
    const types = new Map<string, string | undefined>();
    for (const id of new Set(routes.map((r) => r.notification_id))) types.set(id, (await target.store.getNotification(id))?.notification_type);
    routes = routes.filter((r) => types.get(r.notification_id) === values['type']);
  }
  emit(routes, () =>
    printTable(routes.map((r) => ({ at: iso(r.terminal_at), notification: r.notification_id, route: r.route_id, attempts: r.attempts, failure: r.last_failure_classification, message: r.last_failure_message })), ['at', 'notification', 'route', 'attempts', 'failure', 'message']),
  );
  return EXIT.ok;
}

/** The dead-letter queues, by the name the CLI takes: their output, and the queue they came from (none: the bus). */
const DEAD_LETTER_QUEUES: Record<string, { readonly dlq: string; readonly source?: string }> = {
  intake: { dlq: 'HeraldIntakeDeadLetterQueueUrl', source: 'HeraldIntakeQueueUrl' },
  route: { dlq: 'HeraldRouteDeadLetterQueueUrl', source: 'HeraldRouteQueueUrl' },
  lifecycle: { dlq: 'HeraldLifecycleDeadLetterQueueUrl', source: 'HeraldLifecycleQueueUrl' },
  feedback: { dlq: 'HeraldFeedbackDeadLetterQueueUrl', source: 'HeraldFeedbackQueueUrl' },
  bus: { dlq: 'HeraldBusDeadLetterQueueUrl' },
};

function deadLetterQueueOf(target: HeraldTarget, name: string | undefined, command: string): { readonly dlqUrl: string; readonly sourceUrl?: string } {
  const queue = DEAD_LETTER_QUEUES[name ?? ''];
  if (!queue) throw new CliError(`${command} needs one of ${Object.keys(DEAD_LETTER_QUEUES).join(', ')}`, EXIT.usage);
  const dlqUrl = target.outputs[queue.dlq];
  if (!dlqUrl) throw new CliError(`this stack has no ${queue.dlq.replace(/^Herald/, '')} output: it was deployed before that queue existed; deploy the current version`, EXIT.unavailable);
  return { dlqUrl, ...(queue.source && target.outputs[queue.source] ? { sourceUrl: target.outputs[queue.source] } : {}) };
}

async function showDeadLetterQueue(target: HeraldTarget, values: Values, positionals: string[], emit: Emit): Promise<number> {
  const { dlqUrl } = deadLetterQueueOf(target, positionals[0], 'dlq');
  const limit = integerOption(values, 'limit', { min: 1, max: 100 }, 10);
  const shown = new Map<string, DeadLetter>();
  // Received with no visibility timeout, so the messages stay available to redrive; a message can come twice.
  while (shown.size < limit) {
    const { Messages = [] } = await target.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: Math.min(10, limit - shown.size), WaitTimeSeconds: 0, VisibilityTimeout: 0, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'] }),
    );
    const fresh = Messages.filter((m) => !shown.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const message of fresh) shown.set(message.MessageId!, describeDeadLetter(message));
  }
  const rows = [...shown.values()];
  emit(rows, () => printTable(rows.map((row) => ({ ...row })), ['message_id', 'sent_at', 'kind', 'about', 'error']));
  return EXIT.ok;
}

interface DeadLetter {
  readonly message_id: string;
  readonly sent_at?: string;
  /** What the body is: an intent, a route message, an EventBridge event (lifecycle or intent). */
  readonly kind: string;
  readonly about: string;
  /** EventBridge's error attributes, for the bus DLQ. */
  readonly error?: string;
  readonly body: string;
}

function describeDeadLetter(message: Message): DeadLetter {
  const body = message.Body ?? '';
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    // not JSON: shown as it is
  }
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const detail = (parsed['detail'] ?? {}) as Record<string, unknown>;
  const kind = typeof parsed['detail-type'] === 'string'
    ? `event ${parsed['detail-type']}`
    : typeof parsed['notification_type'] === 'string' ? 'intent' : typeof parsed['route_id'] === 'string' ? 'route message' : 'unparsed';
  const about = kind.startsWith('event')
    ? [detail['event_type'], detail['user_id'], detail['notification_type'], detail['idempotency_key']].filter(Boolean).join(' ')
    : kind === 'intent' ? `${String(parsed['notification_type'])} ${String(parsed['producer'] ?? '')}/${String(parsed['idempotency_key'] ?? '')}`
    : kind === 'route message' ? `${String(parsed['notification_id'])} ${String(parsed['route_id'])}` : body.slice(0, 60);
  const error = attribute('ERROR_CODE') ?? attribute('ERROR_MESSAGE') ? `${attribute('ERROR_CODE') ?? ''} ${attribute('ERROR_MESSAGE') ?? ''}`.trim() : undefined;
  return {
    message_id: message.MessageId!,
    ...(message.Attributes?.SentTimestamp ? { sent_at: iso(Number(message.Attributes.SentTimestamp))! } : {}),
    kind,
    about,
    ...(error ? { error } : {}),
    body,
  };
}

async function redriveQueue(target: HeraldTarget, positionals: string[], emit: Emit): Promise<number> {
  const { dlqUrl, sourceUrl } = deadLetterQueueOf(target, positionals[0], 'redrive-queue');
  if (sourceUrl === undefined) return redriveBusEvents(target, dlqUrl, emit);
  const { Attributes = {} } = await target.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  try {
    const task = await target.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: Attributes.QueueArn! }));
    emit({ task: task.TaskHandle }, () => console.log(`started message move task ${task.TaskHandle}`));
    return EXIT.ok;
  } catch (error) {
    if (target.kind === 'aws') throw error;
  }
  // The offline SQS emulator lacks StartMessageMoveTask: move the messages ourselves.
  let moved = 0;
  for (;;) {
    const { Messages = [] } = await target.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (Messages.length === 0) break;
    await target.sqs.send(new SendMessageBatchCommand({ QueueUrl: sourceUrl, Entries: Messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body! })) }));
    await target.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
    moved += Messages.length;
  }
  emit({ moved }, () => console.log(`moved ${moved} message(s) back to ${positionals[0]}`));
  return EXIT.ok;
}

/**
 * EventBridge puts an event it could not deliver in the DLQ as the event itself, with error
 * attributes (docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html); no SQS source
 * queue exists to move it back to. So each is put on the bus again and deleted once the bus took
 * it; one the bus refuses stays, and anything not an event is left for the operator.
 */
async function redriveBusEvents(target: HeraldTarget, dlqUrl: string, emit: Emit): Promise<number> {
  let put = 0;
  const left: { message_id: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (;;) {
    const { Messages = [] } = await target.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 30 }));
    const fresh = Messages.filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const message of fresh) seen.add(message.MessageId!);
    const events = fresh.map((message) => ({ message, event: busEventOf(message.Body ?? '') }));
    for (const { message, event } of events.filter((e) => e.event === undefined)) left.push({ message_id: message.MessageId!, reason: 'not an EventBridge event' });
    const readable = events.filter((e): e is { message: Message; event: BusEvent } => e.event !== undefined);
    // SES's events: straight to the feedback queue, as their rule delivers them (the whole event).
    const fromSes = readable.filter(({ event }) => event.source === 'aws.ses');
    const feedbackQueueUrl = target.outputs['HeraldFeedbackQueueUrl'];
    if (fromSes.length > 0 && feedbackQueueUrl) {
      await target.sqs.send(new SendMessageBatchCommand({ QueueUrl: feedbackQueueUrl, Entries: fromSes.map(({ message }, i) => ({ Id: String(i), MessageBody: message.Body! })) }));
      await target.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: fromSes.map(({ message }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })) }));
      put += fromSes.length;
    }
    const puttable = readable.filter(({ event }) => event.source !== 'aws.ses' || !feedbackQueueUrl);
    if (puttable.length === 0) continue;
    const answer = await target.events.send(
      new PutEventsCommand({
        Entries: puttable.map(({ event }) => ({ EventBusName: target.outputs['HeraldEventBusName']!, Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail) })),
      }),
    );
    const taken = puttable.filter((_, i) => !answer.Entries?.[i]?.ErrorCode);
    puttable.forEach(({ message }, i) => {
      const entry = answer.Entries?.[i];
      if (entry?.ErrorCode) left.push({ message_id: message.MessageId!, reason: `${entry.ErrorCode}: ${entry.ErrorMessage ?? ''}` });
    });
    if (taken.length > 0) {
      await target.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: dlqUrl, Entries: taken.map(({ message }, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! })) }));
    }
    put += taken.length;
  }
  emit({ put, left }, () => {
    console.log(`put ${put} event(s) on the bus again`);
    for (const l of left) console.log(`left ${l.message_id}: ${l.reason}`);
  });
  return left.length > 0 ? EXIT.failure : EXIT.ok;
}

interface BusEvent {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: unknown;
}

function busEventOf(body: string): BusEvent | undefined {
  try {
    const event = JSON.parse(body) as Partial<BusEvent>;
    return typeof event.source === 'string' && typeof event['detail-type'] === 'string' && event.detail !== undefined ? (event as BusEvent) : undefined;
  } catch {
    return undefined;
  }
}

async function verify(target: HeraldTarget, values: Values, json: boolean): Promise<number> {
  const stepTimeoutMs = integerOption(values, 'timeout', { min: 1, max: 900 }, 30) * 1000;
  const marks: Record<string, string> = { ok: '✓', warn: '!', skipped: '-', failed: '✗' };
  const report = await verifyDeployment(target, {
    ...(typeof values['secret'] === 'string' ? { secret: values['secret'] } : {}),
    ...(typeof values['token'] === 'string' ? { token: values['token'] } : {}),
    ...(typeof values['email'] === 'string' ? { email: values['email'] } : {}),
    stepTimeoutMs,
    onStep: (step) => {
      if (json) return;
      console.log(`${marks[step.status]} ${step.name} (${step.ms} ms)${step.detail ? `: ${step.detail}` : ''}`);
      if (step.likelyCause) console.log(`  likely cause: ${step.likelyCause}`);
    },
  });
  if (json) console.log(JSON.stringify(report, null, 2));
  else console.log(report.ok ? `verified: every check passed (user ${report.user})` : 'NOT verified: see the failed check above');
  return report.ok ? EXIT.ok : EXIT.failure;
}

/** Mints tokens for one user and device session; refuses (usage) when there is no key to sign them with. */
function tokenMinter(target: HeraldTarget, values: Values, user: string, session: string): () => Promise<string> {
  const secret = typeof values['secret'] === 'string' ? values['secret'] : target.kind === 'local' ? target.localTokenSecret : undefined;
  if (!secret) {
    throw new CliError(
      target.kind === 'aws' ? 'refusing to mint a token for a deployed stack without --secret (read it from the TokenSecretArn output deliberately)' : 'this offline stack has no token secret (JWKS mode)',
      EXIT.usage,
    );
  }
  const ttlSeconds = integerOption(values, 'ttl', { min: 1, max: 7 * 86_400 }, 3600);
  return () => mintAccessToken(secret, { userId: user, deviceSessionId: session, ttlSeconds });
}

const NO_PUSH = 'this stack has no WebSocket URL output: it is email-only ("push": false), or not a Herald stack';

async function token(target: HeraldTarget, values: Values, emit: Emit): Promise<number> {
  if (typeof values['user'] !== 'string' || typeof values['session'] !== 'string') throw new CliError('token needs --user and --session', EXIT.usage);
  if (!target.websocketUrl) throw new CliError(NO_PUSH, EXIT.unavailable);
  const minted = await tokenMinter(target, values, values['user'], values['session'])();
  emit({ token: minted, user_id: values['user'], device_session_id: values['session'] }, () => console.log(minted));
  return EXIT.ok;
}

async function tail(target: HeraldTarget, values: Values, positionals: string[], json: boolean): Promise<number> {
  const user = positionals[0];
  if (!user) throw new CliError('tail needs <user_id>', EXIT.usage);
  if (!target.websocketUrl) throw new CliError(NO_PUSH, EXIT.unavailable);
  const session = typeof values['session'] === 'string' ? values['session'] : 'cli-tail';
  const count = integerOption(values, 'count', { min: 1, max: 1_000_000 }, Infinity);
  const timeoutMs = integerOption(values, 'timeout', { min: 0, max: 86_400 }, 0) * 1000;
  const from = typeof values['cursor'] === 'string' && values['cursor'] !== '' ? markOf(values['cursor']) : undefined;
  // Built before connecting, so that a missing secret is a usage error, not a reconnect loop.
  const mint = tokenMinter(target, values, user, session);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  try {
    await tailUser({
      user,
      url: target.websocketUrl,
      token: mint,
      ...(from ? { from } : {}),
      count,
      timeoutMs,
      json,
      print: (line) => console.log(line),
      note: (line) => console.error(line),
      signal: abort.signal,
    });
  } catch (error) {
    if (error instanceof TailConnectError) throw new CliError(error.message, error.refused ? EXIT.failure : EXIT.unavailable);
    throw error;
  }
  return EXIT.ok;
}

/** The stream mark a `--cursor` stands for: the tail resumes after it, and numbers events on from it. */
function markOf(cursor: string): StreamMark {
  try {
    const { epoch, position } = decodeCursor(cursor);
    return { cursor, position, stream: epoch };
  } catch (error) {
    if (error instanceof MalformedCursorError) throw new CliError(`--cursor: ${error.message}`, EXIT.invalidInput);
    throw error;
  }
}

/**
 * Ends the process once everything written has reached stdout and stderr. process.exit() right
 * after a large write loses what the pipe had not taken yet (a `--json | jq` read half a
 * document), so the exit waits for both streams to flush what was queued before it.
 */
async function exitAfterFlush(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}

main(process.argv.slice(2)).then(
  (code) => exitAfterFlush(code),
  (error: unknown) => {
    if (error instanceof CliError) {
      console.error(`herald: ${error.message}`);
      return exitAfterFlush(error.exitCode);
    }
    if ((error as { code?: string }).code === 'ECONNREFUSED') {
      console.error(`herald: cannot reach the target (${(error as Error).message}); is the offline stack running (npm start)?`);
      return exitAfterFlush(EXIT.unavailable);
    }
    console.error(`herald: ${(error as Error).message}`);
    return exitAfterFlush(EXIT.failure);
  },
);
