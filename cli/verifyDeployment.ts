import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetAccountCommand, GetEmailIdentityCommand, NotFoundException } from '@aws-sdk/client-sesv2';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { mintAccessToken } from '../functions/core/auth/AccessTokenVerifier.ts';
import { notificationIdFor } from '../functions/core/route/identifiers.ts';
import type { RouteRecord } from '../functions/core/types.ts';
import { sqsSafeJson } from '../functions/adapters/sqsSafeJson.ts';
import type { HeraldTarget } from './HeraldTarget.ts';

/** What `herald verify` needs besides the target. */
export interface VerifyOptions {
  /** HS256 key to mint tokens with; read from the stack's TokenSecretArn when absent. */
  readonly secret?: string;
  /** A ready token (JWKS deployments, where Herald cannot mint one), for the user it names. */
  readonly token?: string;
  /** A verified address to email; without it the email check is skipped. */
  readonly email?: string;
  /** How long each step may take. */
  readonly stepTimeoutMs: number;
  /** Called with each finished step, as it finishes. */
  readonly onStep: (step: VerifyStep) => void;
}

export interface VerifyStep {
  readonly name: string;
  readonly status: 'ok' | 'warn' | 'skipped' | 'failed';
  readonly ms: number;
  readonly detail?: string;
  /** For a failure: what most likely causes it, in words for someone who has not seen the code. */
  readonly likelyCause?: string;
}

/** A step failed: what AWS said, and what most likely causes it. */
export class VerifyFailure extends Error {
  public constructor(message: string, public readonly likelyCause: string) {
    super(message);
    this.name = 'VerifyFailure';
  }
}

class Skipped extends Error {}
class Warned extends Error {}

const PRODUCER = 'herald-verify';

/**
 * Proves a deployment works end to end, step by step, and stops at the first failure: stack
 * outputs, SES account and sender identity, a push event over the real WebSocket, replay from a
 * cursor after a reconnect, session revocation through the bus, optionally an email, then removes
 * the throw-away user it made (`user.deleted`). The same code runs against the offline stack.
 */
export async function verifyDeployment(target: HeraldTarget, options: VerifyOptions): Promise<{ readonly ok: boolean; readonly steps: VerifyStep[]; readonly user: string }> {
  const steps: VerifyStep[] = [];
  const run = async (name: string, work: () => Promise<string | void>): Promise<boolean> => {
    const started = Date.now();
    let step: VerifyStep;
    try {
      const detail = await work();
      step = { name, status: 'ok', ms: Date.now() - started, ...(detail ? { detail } : {}) };
    } catch (error) {
      const ms = Date.now() - started;
      if (error instanceof Skipped) step = { name, status: 'skipped', ms, detail: error.message };
      else if (error instanceof Warned) step = { name, status: 'warn', ms, detail: error.message };
      else if (error instanceof VerifyFailure) step = { name, status: 'failed', ms, detail: error.message, likelyCause: error.likelyCause };
      else step = { name, status: 'failed', ms, detail: `${(error as Error).name}: ${(error as Error).message}`, likelyCause: likelyCauseOf(error) };
    }
    steps.push(step);
    options.onStep(step);
    return step.status !== 'failed';
  };

  const outputs = target.outputs;
  const user = options.token ? subjectOf(options.token) : `herald-verify-${randomBytes(4).toString('hex')}`;
  const session = 'verify';
  const types = parseVerifyTypes(outputs['HeraldVerifyTypes']);
  let created = false;
  let ok = await run('stack outputs', async () => {
    const missing = ['HeraldIntakeQueueUrl', 'HeraldTableName', 'HeraldEventBusName'].filter((key) => !outputs[key]);
    if (missing.length > 0) throw new VerifyFailure(`missing outputs ${missing.join(', ')}`, 'this is not a Herald stack, or one deployed before these outputs existed: deploy the current version');
    return `${target.kind === 'aws' ? 'deployed stack' : 'offline stack'}; push ${outputs['HeraldWebSocketUrl'] ? 'on' : 'off'}; email ${outputs['HeraldEmailFrom'] ? `from ${outputs['HeraldEmailFrom']}` : 'off'}`;
  });

  if (ok) ok = await run('SES account and sender identity', () => checkSes(target, outputs['HeraldEmailFrom']));

  try {
    if (ok && outputs['HeraldWebSocketUrl']) {
      let mint: (() => Promise<string>) | undefined;
      const token = await run('connection token', async () => {
        if (options.token) return `given with --token, for user ${user}`;
        if (types.push === undefined) throw new Skipped('the catalog has no push type');
        const secret = await tokenSecret(target, options.secret);
        mint = () => mintAccessToken(secret, { userId: user, deviceSessionId: session, ttlSeconds: 900 });
        return `minted (HS256) for the throw-away user ${user}`;
      });
      ok = token;
      const tokenFor = async () => options.token ?? (await mint!());
      let socket: FrameSocket | undefined;
      let firstCursor = '';
      const pushType = types.push;
      if (token && pushType !== undefined && (options.token !== undefined || mint !== undefined)) {
        ok = await run('WebSocket connect', async () => {
          socket = await FrameSocket.open(`${outputs['HeraldWebSocketUrl']!}?token=${encodeURIComponent(await tokenFor())}`, options.stepTimeoutMs);
          await socket.send({ action: 'resume', cursor: '' });
          await socket.waitFor('replay_complete', options.stepTimeoutMs, 'the answer to resume (replay_complete)');
          created = true;
          return `connected as ${user}`;
        });
        if (ok) {
          ok = await run('push event delivered', async () => {
            const key = await sendIntent(target, { notification_type: pushType, audience: { kind: 'user', user_id: user }, payload: { verify: 1 } });
            const frame = await socket!.waitFor('event', options.stepTimeoutMs, `the event frame of intent ${key}`, (f) => (f['event_id'] as string).startsWith(notificationIdFor(PRODUCER, key)));
            firstCursor = String(frame['cursor']);
            return `event at cursor ${firstCursor}`;
          });
        }
        if (ok) {
          ok = await run('replay after reconnect', async () => {
            socket!.close();
            const key = await sendIntent(target, { notification_type: pushType, audience: { kind: 'user', user_id: user }, payload: { verify: 2 } });
            const route = await waitForTerminalRoute(target, notificationIdFor(PRODUCER, key), `push:${user}`, options.stepTimeoutMs);
            if (route.status !== 'published') throw routeFailure(route);
            socket = await FrameSocket.open(`${outputs['HeraldWebSocketUrl']!}?token=${encodeURIComponent(await tokenFor())}`, options.stepTimeoutMs);
            await socket.send({ action: 'resume', cursor: firstCursor });
            await socket.waitFor('event', options.stepTimeoutMs, 'the missed event, replayed', (f) => (f['event_id'] as string).startsWith(notificationIdFor(PRODUCER, key)));
            await socket.waitFor('replay_complete', options.stepTimeoutMs, 'replay_complete');
            return 'the event sent while away came back on resume';
          });
        }
        if (ok) {
          ok = await run('session revoked through the bus', async () => {
            await putLifecycle(target, { event_type: 'session.revoked', user_id: user, device_session_id: session, occurred_at_ms: Date.now(), reason_code: 'herald_verify' });
            await socket!.waitFor('session_invalidated', options.stepTimeoutMs, 'session_invalidated (the lifecycle function runs from the lifecycle queue)');
            await socket!.closed(options.stepTimeoutMs);
            return 'session_invalidated received and the socket closed';
          });
        }
      }
      socket?.close();
    } else if (ok) {
      await run('push', async () => {
        throw new Skipped('this stack has no WebSocket API (email only)');
      });
    }

    if (ok) {
      ok = await run('email', async () => {
        if (!options.email) throw new Skipped('pass --email <a verified address> to send one');
        if (!types.email) throw new Skipped('the catalog has no email type');
        const payload: Record<string, unknown> = {};
        for (const field of types.email.fields) setPath(payload, field, 'herald verify');
        const key = await sendIntent(target, { notification_type: types.email.type, audience: { kind: 'user', user_id: user, email: options.email }, payload });
        created = true;
        const route = await waitForTerminalRoute(target, notificationIdFor(PRODUCER, key), `email:${user}`, options.stepTimeoutMs);
        if (route.status !== 'published') throw routeFailure(route);
        return `sent to ${options.email} (route published)`;
      });
    }
  } finally {
    if (created && !options.token) {
      await run('clean up (user.deleted)', async () => {
        await putLifecycle(target, { event_type: 'user.deleted', user_id: user, occurred_at_ms: Date.now(), reason_code: 'herald_verify' });
        return `removed ${user}`;
      });
    }
  }
  return { ok: ok && steps.every((s) => s.status !== 'failed'), steps, user };
}

async function checkSes(target: HeraldTarget, emailFrom: string | undefined): Promise<string> {
  if (!emailFrom) throw new Skipped('no email channel (no EmailFrom output)');
  const account = await target.ses.send(new GetAccountCommand({}));
  if (account.SendingEnabled === false) throw new VerifyFailure('SES sending is disabled for this account and region', 'SES paused sending (review or enforcement): see the SES console, account dashboard');
  const identityName = await verifiedIdentityOf(target, emailFrom);
  const sandbox = account.ProductionAccessEnabled !== true;
  const detail = `sender identity ${identityName} verified; account ${sandbox ? 'in the SES sandbox (only verified recipients get email)' : 'out of the sandbox'}`;
  if (sandbox) throw new Warned(detail);
  return detail;
}

/** The verified identity that covers the address: the address itself, else its domain. */
async function verifiedIdentityOf(target: HeraldTarget, address: string): Promise<string> {
  for (const name of [address, address.split('@')[1]!]) {
    try {
      const identity = await target.ses.send(new GetEmailIdentityCommand({ EmailIdentity: name }));
      if (identity.VerifiedForSendingStatus) return name;
      throw new VerifyFailure(`SES identity ${name} exists but is not verified for sending (${identity.VerificationStatus ?? 'status unknown'})`, 'finish its verification: the DNS records (a domain) or the link SES emailed (an address)');
    } catch (error) {
      if (!(error instanceof NotFoundException)) throw error;
    }
  }
  throw new VerifyFailure(`no SES identity for ${address} or its domain in this region`, `create and verify the identity ${address.split('@')[1]} (or the address) in SES, in the stack's region`);
}

async function tokenSecret(target: HeraldTarget, given: string | undefined): Promise<string> {
  if (given) return given;
  if (target.localTokenSecret) return target.localTokenSecret;
  const arn = target.outputs['HeraldTokenSecretArn'];
  if (!arn) throw new VerifyFailure('this stack verifies tokens with a JWKS, so Herald cannot mint one', 'pass --token <a token your identity provider issued for a throw-away user>');
  try {
    const { SecretString } = await target.secrets.send(new GetSecretValueCommand({ SecretId: arn }));
    if (!SecretString) throw new Error('the secret has no string value');
    return SecretString;
  } catch (error) {
    throw new VerifyFailure(`cannot read the token secret ${arn}: ${(error as Error).name}: ${(error as Error).message}`, 'your credentials need secretsmanager:GetSecretValue on that secret, or pass --secret');
  }
}

async function sendIntent(target: HeraldTarget, intent: { notification_type: string; audience: Record<string, unknown>; payload: Record<string, unknown> }): Promise<string> {
  const key = `verify-${Date.now()}-${randomBytes(4).toString('hex')}`;
  await target.sqs.send(
    new SendMessageCommand({
      QueueUrl: target.outputs['HeraldIntakeQueueUrl']!,
      MessageBody: sqsSafeJson(JSON.stringify({ ...intent, producer: PRODUCER, idempotency_key: key })),
    }),
  );
  return key;
}

async function putLifecycle(target: HeraldTarget, detail: Record<string, unknown>): Promise<void> {
  const put = await target.events.send(
    new PutEventsCommand({ Entries: [{ EventBusName: target.outputs['HeraldEventBusName']!, Source: 'herald.verify', DetailType: 'herald.lifecycle', Detail: JSON.stringify(detail) }] }),
  );
  const failed = put.Entries?.find((e) => e.ErrorCode);
  if ((put.FailedEntryCount ?? 0) > 0) {
    throw new VerifyFailure(`PutEvents refused the lifecycle event: ${failed?.ErrorCode}: ${failed?.ErrorMessage}`, 'your credentials need events:PutEvents on the stack\'s bus');
  }
}

async function waitForTerminalRoute(target: HeraldTarget, notificationId: string, routeId: string, timeoutMs: number): Promise<RouteRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const route = await target.store.getRoute(notificationId, routeId);
    if (route && (route.status === 'published' || route.status === 'dead_letter' || route.status === 'cancelled')) return route;
    if (Date.now() > deadline) {
      const rejection = route === undefined ? ' (no route: the intent was not accepted; see herald rejections)' : ` (route ${route.status}, attempt ${route.attempts}${route.last_failure_classification ? `, last failure ${route.last_failure_classification}: ${route.last_failure_message}` : ''})`;
      throw new VerifyFailure(`no outcome for ${routeId} of ${notificationId} within ${timeoutMs / 1000} s${rejection}`, route === undefined ? 'the accept function is not consuming the intake queue: see its logs and the intake DLQ' : 'deliveries are failing and being retried: see the deliver function\'s logs');
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A route that ended without being published, explained. */
function routeFailure(route: RouteRecord): VerifyFailure {
  const what = `route ${route.route_id} ended ${route.status}${route.last_failure_classification ? `: ${route.last_failure_classification}: ${route.last_failure_message}` : ''}`;
  const causes: Record<string, string> = {
    email_identity_unverified: 'SES sandbox: the recipient (or the sender) is not a verified identity; verify it, or request production access',
    email_not_authorized: 'the deliver function may not send as this sender: check its role (ses:SendEmail, ses:FromAddress) and any identity policy',
    email_rejected: 'SES refused the message for good (the error says why)',
    email_send_failed: 'SES kept failing: see the deliver function\'s logs',
    recipient_missing: 'the recipient has no email address',
  };
  return new VerifyFailure(what, causes[route.last_failure_classification ?? ''] ?? (route.status === 'cancelled' ? 'the user was deleted or blocked meanwhile' : 'see the deliver function\'s logs'));
}

function likelyCauseOf(error: unknown): string {
  const name = (error as { name?: string }).name ?? '';
  const code = (error as { code?: string }).code ?? '';
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || name === 'UnrecognizedClientException') return 'your AWS credentials lack a permission for this step (the error names it)';
  if (name === 'ExpiredTokenException') return 'your AWS session expired: sign in again';
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND') return 'the endpoint is unreachable: is the stack (or `npm start`) running, in this region?';
  return 'see the error above';
}

function parseVerifyTypes(value: string | undefined): { push?: string; email?: { type: string; fields: string[] } } {
  try {
    return value ? (JSON.parse(value) as ReturnType<typeof parseVerifyTypes>) : {};
  } catch {
    return {};
  }
}

function subjectOf(token: string): string {
  try {
    const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    if (typeof claims.sub === 'string') return claims.sub;
  } catch {
    // reported below
  }
  throw new VerifyFailure('--token is not a JWT with a sub claim', 'pass a connection token as your identity provider issues it');
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[keys.at(-1)!] = value;
}

/** A WebSocket that keeps every frame it received, so a step can wait for one that already came. */
class FrameSocket {
  private readonly frames: Record<string, unknown>[] = [];
  private readonly listeners = new Set<() => void>();
  private ended = false;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      try {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        // A replay packs its events into `events` frames: each counts as an event here.
        if (frame['type'] === 'events' && Array.isArray(frame['events'])) {
          for (const event of frame['events'] as Record<string, unknown>[]) this.frames.push({ type: 'event', ...event });
        } else this.frames.push(frame);
      } catch {
        this.frames.push({ type: 'unparsed', text: data.toString().slice(0, 200) });
      }
      for (const listener of this.listeners) listener();
    });
    socket.on('close', () => {
      this.ended = true;
      for (const listener of this.listeners) listener();
    });
  }

  /** Opens a connection; a refusal or an unreachable endpoint is a VerifyFailure that says which. */
  public static open(url: string, timeoutMs: number): Promise<FrameSocket> {
    const shown = url.replace(/token=[^&]+/, 'token=…');
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { handshakeTimeout: timeoutMs });
      socket.once('open', () => resolve(new FrameSocket(socket)));
      socket.once('unexpected-response', (_request, response) => {
        socket.terminate();
        const status = response.statusCode ?? 0;
        reject(
          status === 401 || status === 403
            ? new VerifyFailure(`the WebSocket API refused the token (HTTP ${status})`, 'the token was not signed with the stack\'s key: pass the secret of the TokenSecretArn output with --secret (or a token from your identity provider with --token); if it was, the authorizer cannot read its secret (see its logs)')
            : new VerifyFailure(`the WebSocket API answered HTTP ${status} to $connect`, status >= 500 ? 'the authorizer or connection function failed: see their logs' : 'see the API\'s stage and routes'),
        );
      });
      socket.once('error', (error: Error & { code?: string }) =>
        reject(new VerifyFailure(`cannot reach the WebSocket API at ${shown}: ${error.code ?? error.name}: ${error.message}`, 'the WebSocketUrl output is not reachable from here: is the stack deployed (or `npm start` running), and is the network open to it?')),
      );
    });
  }

  public send(message: unknown): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve())));
  }

  /** The first frame of the type (and matching `where`) received so far or within the timeout. */
  public waitFor(type: string, timeoutMs: number, what: string, where: (frame: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const index = this.frames.findIndex((f) => f['type'] === type && where(f));
        if (index >= 0) {
          finish();
          resolve(this.frames.splice(index, 1)[0]!);
        } else if (this.ended) {
          finish();
          reject(new VerifyFailure(`the connection closed before ${what} arrived`, 'the server closed the socket: see the connection function\'s logs'));
        }
      };
      const timer = setTimeout(() => {
        finish();
        const errors = this.frames.filter((f) => f['type'] === 'error').map((f) => `${String(f['code'])}: ${String(f['message'])}`);
        reject(new VerifyFailure(`no ${what} within ${timeoutMs / 1000} s${errors.length > 0 ? ` (error frames: ${errors.join('; ')})` : ''}`, 'the pipeline is slow or failing: see the accept, deliver and lifecycle functions\' logs and the DLQs'));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  public closed(timeoutMs: number): Promise<void> {
    if (this.ended) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new VerifyFailure(`the socket stayed open ${timeoutMs / 1000} s after session_invalidated`, 'the lifecycle function could not delete the connection: see its logs')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  public close(): void {
    this.socket.close();
  }
}
