import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { HeraldClient } from '../../client/HeraldClient.ts';
import { memoryCursorStore } from '../../client/cursorStores.ts';
import type { HeraldEvent } from '../../client/types.ts';
import { mintAccessToken } from '../../functions/core/auth/AccessTokenVerifier.ts';
import { contentHashOf, notificationIdFor } from '../../functions/core/route/identifiers.ts';
import { effectiveRoute, eventIdOf } from '../../functions/core/route/effectiveStatus.ts';
import type { RouteRecord } from '../../functions/core/types.ts';
import type { ChaosReport } from '../../local/chaos/ChaosController.ts';
import { freeOfflinePorts } from '../../local/freePort.ts';
import { OfflineStack, withPush, type PushEndpoints } from '../../local/OfflineStack.ts';
import { synthesize } from '../../local/synth.ts';
import { percentile } from '../stats.ts';
import { RawResumer, type Delivered } from './RawResumer.ts';

export interface SoakOptions {
  /** Intake messages to send (valid, re-sent, conflicting and invalid together). */
  readonly intents: number;
  /** Open-loop send rate. */
  readonly ratePerSecond: number;
  /** Chaos profile (local/chaos/profiles.ts). */
  readonly profile: string;
  readonly seed: number;
  /** Users with a client-SDK connection each; the first `rawUsers` of them also have a raw-socket client. */
  readonly users: number;
  readonly rawUsers: number;
  /** Give up waiting for the invariants to hold this long after the faults stop. */
  readonly drainTimeoutMs: number;
  readonly configPath: string;
  readonly assemblyDir: string;
  /** Synthesize first (else reuse `assemblyDir`). */
  readonly synth: boolean;
  readonly functionLog: string;
  readonly progress?: (line: string) => void;
}

export interface Invariant {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface SoakReport {
  readonly options: Omit<SoakOptions, 'progress'>;
  readonly machine: { readonly cpus: number; readonly memoryGiB: number; readonly node: string };
  readonly startedAt: string;
  readonly sent: Record<SentKind, number> & { readonly total: number; readonly sendSeconds: number };
  readonly faults: {
    readonly requests: number;
    readonly injected: number;
    /** Injected faults / requests through the proxies (latency faults included). */
    readonly ratio: number;
    /** The same without added latency (failures and ambiguous answers only). */
    readonly failureRatio: number;
    readonly byKind: Record<string, number>;
    readonly byService: Record<string, { requests: number; faults: number }>;
    readonly stoppedInvocations: Record<string, { crashes: number; timeouts: number }>;
    readonly dynamodbPauses: { readonly count: number; readonly totalMs: number };
  };
  /** From the moment the faults stopped to the moment every invariant held. */
  readonly drainMs: number | null;
  readonly latency: {
    /** Intake SendMessage → the client SDK delivered the event, for chat messages, during the soak. */
    readonly clientDeliveredMs: { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number };
    /** Intake SendMessage → the event stored in the user's stream (published_at). */
    readonly storedMs: { readonly count: number; readonly p50: number; readonly p99: number };
  };
  readonly outcome: {
    readonly notifications: number;
    readonly routes: Record<string, number>;
    readonly rejections: number;
    readonly events: number;
    readonly emails: number;
    readonly duplicateEmails: number;
    readonly clientDeliveries: number;
  };
  readonly metrics: Record<string, { readonly logged: number; readonly truth: number }>;
  readonly invariants: readonly Invariant[];
  readonly violations: number;
  readonly chaos: ChaosReport;
}

type SentKind = 'push' | 'fanout' | 'email' | 'welcome' | 'resend' | 'conflict' | 'invalid';

interface SentMessage {
  readonly messageId: string;
  readonly kind: SentKind;
  readonly key?: string;
  readonly hash?: string;
  readonly sentAt: number;
}

/** The traffic mix, in cumulative shares. */
const MIX: readonly [SentKind, number][] = [
  ['push', 0.56],
  ['fanout', 0.64],
  ['email', 0.76],
  ['welcome', 0.8],
  ['resend', 0.87],
  ['conflict', 0.91],
  ['invalid', 1],
];
const FANOUT = 8;
const PRODUCER = 'chaos';

/**
 * A soak on the offline stack under a chaos profile: sends a mix of intents while clients connect,
 * drop, stall and resume, then stops the faults and checks from the outside, until it holds or
 * time runs out, that nothing was lost or duplicated (docs/fault-model.md lists the invariants).
 */
export async function runChaosSoak(options: SoakOptions): Promise<SoakReport> {
  const say = options.progress ?? (() => undefined);
  if (options.synth) {
    say(`synthesizing ${options.configPath} …`);
    synthesize({ configPath: options.configPath, outdir: options.assemblyDir, quiet: true });
  }
  const metricSums = new Map<string, number>();
  const stack = new OfflineStack({
    assemblyDir: options.assemblyDir,
    ports: await freeOfflinePorts(),
    logs: options.functionLog,
    logTap: (line) => sumEmfMetrics(line, metricSums),
    // Lambda scales out while invocations wait on retries; two environments per function would
    // make the soak measure this box's queueing, not Herald's recovery.
    functionConcurrency: 6,
  });
  const endpoints = withPush(await stack.start());
  const startedAt = new Date().toISOString();
  const world = new World(endpoints, options);
  try {
    say(`stack up; connecting ${options.users} SDK clients and ${options.rawUsers} raw clients …`);
    await world.connectClients();
    stack.chaos.start(options.profile, options.seed);
    for (const key of [...metricSums.keys()]) metricSums.delete(key);
    say(`chaos profile "${options.profile}" on; sending ${options.intents} intents at ${options.ratePerSecond}/s …`);
    const sendStarted = Date.now();
    const disruptor = world.disruptWhile(endpoints.admin);
    await world.send((done) => done % 1000 === 0 && say(`  sent ${done}`));
    const sendSeconds = (Date.now() - sendStarted) / 1000;
    disruptor.stop();
    const chaos = stack.chaos.report();
    stack.chaos.stop();
    const faultsStoppedAt = Date.now();
    say(`faults off after ${sendSeconds.toFixed(0)} s; draining …`);
    let check = await world.check(metricSums, chaos);
    while (!check.drained && Date.now() - faultsStoppedAt < options.drainTimeoutMs) {
      await sleep(1_000);
      check = await world.check(metricSums, chaos);
    }
    const drainMs = check.drained ? check.checkedAt - faultsStoppedAt : null;
    say(drainMs === null ? `not drained after ${options.drainTimeoutMs / 1000} s` : `drained ${(drainMs / 1000).toFixed(1)} s after the faults stopped`);
    const alive = await world.stillAlive();
    const invariants = [...check.invariants, alive];
    const { progress: _progress, ...recorded } = options;
    return {
      options: recorded,
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
      startedAt,
      sent: { ...world.sentCounts(), total: world.sent.length, sendSeconds },
      faults: faultSummary(chaos),
      drainMs,
      latency: { clientDeliveredMs: world.clientLatency(), storedMs: check.storedLatency },
      outcome: check.outcome,
      metrics: check.metrics,
      invariants,
      violations: invariants.filter((i) => !i.ok).length,
      chaos,
    };
  } finally {
    world.close();
    await stack.stop();
  }
}

/** Adds up the counts of the EMF blobs the functions log (every dimension set together). */
function sumEmfMetrics(line: string, sums: Map<string, number>): void {
  if (!line.includes('"_aws"')) return;
  let blob: Record<string, unknown>;
  try {
    blob = JSON.parse(line.slice(line.indexOf('{'))) as Record<string, unknown>;
  } catch {
    return;
  }
  const directives = (blob['_aws'] as { CloudWatchMetrics?: { Metrics?: { Name: string }[] }[] } | undefined)?.CloudWatchMetrics ?? [];
  for (const { Metrics = [] } of directives) {
    for (const { Name } of Metrics) {
      const value = blob[Name];
      const total = Array.isArray(value) ? value.reduce((a: number, b: number) => a + b, 0) : Number(value ?? 0);
      sums.set(Name, (sums.get(Name) ?? 0) + total);
    }
  }
}

function faultSummary(chaos: ChaosReport): SoakReport['faults'] {
  const byKind: Record<string, number> = {};
  const byService: Record<string, { requests: number; faults: number }> = {};
  for (const [service, { operations, rules }] of Object.entries(chaos.services)) {
    const counts = { requests: 0, faults: 0 };
    for (const c of Object.values(operations)) {
      counts.requests += c.requests;
      counts.faults += c.faults;
    }
    byService[service] = counts;
    for (const rule of rules) {
      const kind = rule.effect ?? 'error';
      byKind[kind] = (byKind[kind] ?? 0) + rule.hits;
    }
  }
  const { requests, faults, latencyFaults } = chaos.totals;
  const stopped = Object.fromEntries(
    Object.entries(chaos.functions).filter(([, f]) => f.crashes + f.timeouts > 0).map(([name, f]) => [name, { crashes: f.crashes, timeouts: f.timeouts }]),
  );
  return {
    requests,
    injected: faults,
    ratio: requests === 0 ? 0 : faults / requests,
    failureRatio: requests === 0 ? 0 : (faults - latencyFaults) / requests,
    byKind,
    byService,
    stoppedInvocations: stopped,
    dynamodbPauses: chaos.dynamodbPauses,
  };
}

/** The soak's users, clients and sent messages, and the checks over them. */
class World {
  public readonly sent: SentMessage[] = [];
  private readonly sqs: SQSClient;
  private readonly documents: DynamoDBDocumentClient;
  private readonly tokenSecret: string;
  private readonly users: string[];
  private readonly sdkDelivered = new Map<string, Delivered[]>();
  private readonly sdkClients = new Map<string, HeraldClient>();
  private readonly cursorStores = new Map<string, ReturnType<typeof memoryCursorStore>>();
  private readonly raw = new Map<string, RawResumer>();
  /** Intents sent with a new key: what a re-send or a conflict picks from. */
  private readonly accepted: { key: string; payload: Record<string, unknown>; type: string; audience: unknown }[] = [];
  private readonly problems: string[] = [];
  private order = 0;

  public constructor(
    private readonly endpoints: PushEndpoints,
    private readonly options: SoakOptions,
  ) {
    const config = { region: endpoints.region, credentials: endpoints.credentials };
    this.sqs = new SQSClient({ ...config, endpoint: endpoints.sqs });
    this.documents = DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, endpoint: endpoints.dynamodb }));
    this.tokenSecret = Object.entries(endpoints.secrets).find(([id]) => id.includes('TokenSecret'))![1];
    this.users = Array.from({ length: options.users }, (_, i) => `cu-${i}`);
  }

  private token(userId: string, device: string): Promise<string> {
    return mintAccessToken(this.tokenSecret, { userId, deviceSessionId: device, ttlSeconds: 3_600 });
  }

  public async connectClients(): Promise<void> {
    for (const user of this.users) {
      this.sdkDelivered.set(user, []);
      this.cursorStores.set(user, memoryCursorStore());
      this.openSdkClient(user);
    }
    for (const user of this.users.slice(0, this.options.rawUsers)) {
      const client = new RawResumer(this.endpoints.websocket, () => this.token(user, 'raw'));
      this.raw.set(user, client);
      client.connect();
    }
    const deadline = Date.now() + 60_000;
    while ([...this.sdkClients.values()].some((c) => c.mark === undefined) || [...this.raw.values()].some((r) => !r.started)) {
      if (Date.now() > deadline) throw new Error('clients did not all connect and resume within 60 s (before any fault)');
      await sleep(100);
    }
  }

  private openSdkClient(user: string): void {
    const client = new HeraldClient({
      url: this.endpoints.websocket,
      token: () => this.token(user, 'sdk'),
      cursorStore: this.cursorStores.get(user)!,
      reconnect: { baseMs: 100, maxMs: 1_000 },
      pingIntervalMs: 2_000,
      pongTimeoutMs: 2_000,
      connectTimeoutMs: 3_000,
      platformEvents: false,
    });
    client.on('event', (event: HeraldEvent) => {
      this.sdkDelivered.get(user)!.push({
        position: event.position,
        eventId: event.event_id,
        ...(event.notification_id !== undefined ? { notificationId: event.notification_id } : {}),
        ...(event.payload !== undefined ? { payload: event.payload } : {}),
        at: Date.now(),
      });
    });
    client.on('resync', () => this.problems.push(`SDK client of ${user} got resync (history lost)`));
    client.on('session_invalidated', () => this.problems.push(`SDK client of ${user} was invalidated`));
    client.connect();
    this.sdkClients.set(user, client);
  }

  /** Drops, stalls and cuts connections and restarts clients while the faults run. */
  public disruptWhile(admin: string): { stop(): void } {
    const timer = setInterval(() => {
      void (async () => {
        const roll = Math.random();
        if (roll < 0.5) {
          const ids = (await (await fetch(`${admin}/gateway/connections`)).json()) as string[];
          const id = ids[Math.floor(Math.random() * ids.length)];
          if (id === undefined) return;
          const action = (['drop', 'vanish', 'stall'] as const)[Math.floor(Math.random() * 3)]!;
          await fetch(`${admin}/gateway/connections/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
        } else if (roll < 0.75) {
          // The app restarts: a new client, the cursor it stored.
          const user = this.users[Math.floor(Math.random() * this.users.length)]!;
          this.sdkClients.get(user)?.close();
          this.openSdkClient(user);
        } else {
          const raw = [...this.raw.values()][Math.floor(Math.random() * this.raw.size)];
          raw?.disconnect();
        }
      })().catch(() => undefined);
    }, 500);
    return { stop: () => clearInterval(timer) };
  }

  public async send(progress: (done: number) => void): Promise<void> {
    const interval = 1000 / this.options.ratePerSecond;
    const started = Date.now();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < this.options.intents; i += 1) {
      const due = started + i * interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      inFlight.push(this.sendOne().catch((error: Error) => void this.problems.push(`send failed: ${error.message}`)));
      if ((i + 1) % 1000 === 0) progress(i + 1);
      if (inFlight.length > 200) await Promise.all(inFlight.splice(0, 100));
    }
    await Promise.all(inFlight);
  }

  private async sendOne(): Promise<void> {
    const roll = Math.random();
    let kind = MIX.find(([, upTo]) => roll < upTo)![0];
    if ((kind === 'resend' || kind === 'conflict') && this.accepted.length === 0) kind = 'push';
    const pick = () => this.users[Math.floor(Math.random() * this.users.length)]!;
    const order = (this.order += 1);
    const sentAt = Date.now();
    let body: string;
    let key: string | undefined;
    let hash: string | undefined;
    const intent = (type: string, audience: unknown, payload: Record<string, unknown>) => {
      key = `k-${randomUUID()}`;
      const content = { notification_type: type, audience, payload };
      hash = contentHashOf(content);
      this.accepted.push({ key, type, audience, payload });
      return JSON.stringify({ ...content, producer: PRODUCER, idempotency_key: key });
    };
    switch (kind) {
      case 'push':
        body = intent('chat.message', { kind: 'user', user_id: pick() }, { text: `m${order}`, order, sent_at: sentAt });
        break;
      case 'fanout': {
        const users = [...new Set(Array.from({ length: FANOUT }, pick))].map((user_id) => ({ user_id }));
        body = intent('team.alert', { kind: 'users', recipients: users }, { order, sent_at: sentAt });
        break;
      }
      case 'email': {
        const user = pick();
        body = intent('order.receipt', { kind: 'user', user_id: user, email: `${user}@chaos.example.com` }, { order });
        break;
      }
      case 'welcome': {
        const user = pick();
        body = intent('account.welcome', { kind: 'user', user_id: user, email: `${user}@chaos.example.com` }, { order, sent_at: sentAt });
        break;
      }
      case 'resend': {
        const earlier = this.accepted[Math.floor(Math.random() * this.accepted.length)]!;
        key = earlier.key;
        hash = contentHashOf({ notification_type: earlier.type, audience: earlier.audience, payload: earlier.payload });
        body = JSON.stringify({ notification_type: earlier.type, audience: earlier.audience, payload: earlier.payload, producer: PRODUCER, idempotency_key: earlier.key });
        break;
      }
      case 'conflict': {
        const earlier = this.accepted[Math.floor(Math.random() * this.accepted.length)]!;
        key = earlier.key;
        const payload = { ...earlier.payload, conflicting: order };
        hash = contentHashOf({ notification_type: earlier.type, audience: earlier.audience, payload });
        body = JSON.stringify({ notification_type: earlier.type, audience: earlier.audience, payload, producer: PRODUCER, idempotency_key: earlier.key });
        break;
      }
      case 'invalid':
        body = order % 2 === 0 ? `{"notification_type": "chat.message", "broken` : JSON.stringify({ notification_type: 'no.such.type', producer: PRODUCER, idempotency_key: `bad-${order}`, audience: { kind: 'user', user_id: pick() }, payload: {} });
        break;
    }
    const { MessageId } = await this.sqs.send(new SendMessageCommand({ QueueUrl: this.endpoints.outputs['HeraldIntakeQueueUrl']!, MessageBody: body }));
    this.sent.push({ messageId: MessageId!, kind, ...(key !== undefined ? { key } : {}), ...(hash !== undefined ? { hash } : {}), sentAt });
  }

  public sentCounts(): Record<SentKind, number> {
    const counts: Record<SentKind, number> = { push: 0, fanout: 0, email: 0, welcome: 0, resend: 0, conflict: 0, invalid: 0 };
    for (const message of this.sent) counts[message.kind] += 1;
    return counts;
  }

  /** Chat messages: intake send → delivered by the client SDK. */
  public clientLatency(): SoakReport['latency']['clientDeliveredMs'] {
    const latencies: number[] = [];
    for (const delivered of this.sdkDelivered.values()) {
      for (const d of delivered) if (typeof d.payload?.['sent_at'] === 'number') latencies.push(d.at - (d.payload['sent_at'] as number));
    }
    latencies.sort((a, b) => a - b);
    return { count: latencies.length, p50: percentile(latencies, 50) ?? 0, p99: percentile(latencies, 99) ?? 0, max: latencies.at(-1) ?? 0 };
  }

  /** Every invariant, checked from the outside: the tables, the streams, the mailbox, the clients, the metrics. */
  public async check(metricSums: Map<string, number>, chaos: ChaosReport) {
    const checkedAt = Date.now();
    const table = await this.scan(this.endpoints.outputs['HeraldTableName']!);
    const streams = await this.scan(this.endpoints.outputs['HeraldStreamsTableName']!);
    const notifications = new Map<string, Record<string, unknown>>();
    const routes: Record<string, unknown>[] = [];
    const rejections = new Map<string, Record<string, unknown>>();
    // A single-recipient push published at acceptance has only its event to say so (the rule every
    // reader applies, core/route/effectiveStatus.ts): its item is read as that rule reads it.
    const eventsById = new Map(streams.filter((e) => e['event_id'] !== undefined).map((e) => [String(e['event_id']), e]));
    for (const stored of table) {
      const pk = String(stored['pk']);
      let item = stored;
      if (pk.startsWith('N#') && stored['sk'] === 'META' && stored['route_id'] !== undefined) {
        const route = { ...stored, stored_with_notification: true } as unknown as RouteRecord;
        const event = eventsById.get(eventIdOf(route));
        const current = effectiveRoute(route, event && { event_id: String(event['event_id']), epoch: String(event['epoch']), position: Number(event['position']), published_at: Number(event['published_at']) });
        if (current.status !== route.status) item = { ...stored, status: current.status, state: 'accepted' };
      }
      if (pk.startsWith('N#') && item['sk'] === 'META') {
        notifications.set(String(item['notification_id']), item);
        if (item['route_id'] !== undefined) routes.push(item);
      } else if (pk.startsWith('N#')) routes.push(item);
      else if (pk.startsWith('REJ#')) rejections.set(String(item['source_id']), item);
    }
    const invariants: Invariant[] = [];
    const fail = (name: string, problems: string[], total: number) =>
      invariants.push({ name, ok: problems.length === 0, detail: problems.length === 0 ? `${total} checked` : `${problems.length} of ${total}: ${problems.slice(0, 5).join('; ')}` });

    // Every intake message accepted, a duplicate of an accepted one, or rejected with a reason.
    const unaccounted: string[] = [];
    const truth = { accepted: 0, duplicates: 0, rejected: 0, routes: 0 };
    const keys = new Map<string, SentMessage[]>();
    for (const message of this.sent) {
      if (message.key === undefined) {
        if (rejections.has(message.messageId)) truth.rejected += 1;
        else unaccounted.push(`invalid message ${message.messageId} has no rejection`);
        continue;
      }
      keys.set(message.key, [...(keys.get(message.key) ?? []), message]);
    }
    for (const [key, messages] of keys) {
      const stored = notifications.get(notificationIdFor(PRODUCER, key));
      if (stored === undefined || stored['state'] !== 'accepted') {
        unaccounted.push(`key ${key}: notification ${stored === undefined ? 'missing' : `still ${String(stored['state'])}`}`);
        continue;
      }
      truth.accepted += 1;
      truth.routes += Number(stored['route_count']);
      const same = messages.filter((m) => m.hash === stored['content_hash']);
      truth.duplicates += same.length - 1;
      for (const m of same) if (rejections.has(m.messageId)) unaccounted.push(`message ${m.messageId} of the accepted content was rejected`);
      for (const m of messages.filter((m) => m.hash !== stored['content_hash'])) {
        if (rejections.get(m.messageId)?.['reason'] === 'idempotency_conflict') truth.rejected += 1;
        else unaccounted.push(`conflicting message ${m.messageId} for key ${key} not rejected as idempotency_conflict`);
      }
    }
    fail('every intake message accepted, a duplicate, or rejected with its reason', unaccounted, this.sent.length);

    // Every route in a terminal state.
    const statuses: Record<string, number> = {};
    const open: string[] = [];
    for (const route of routes) {
      const status = String(route['status']);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (!['published', 'dead_letter', 'cancelled'].includes(status)) open.push(`${String(route['notification_id'])}/${String(route['route_id'])} ${status}`);
    }
    const missingRoutes = truth.routes - routes.filter((r) => notifications.get(String(r['notification_id']))?.['producer'] === PRODUCER).length;
    fail('every route reaches a terminal state', [...open, ...(missingRoutes !== 0 ? [`${missingRoutes} routes missing`] : [])], routes.length);

    // Streams: gapless positions, one event per published push route, none twice.
    const byUser = new Map<string, Record<string, unknown>[]>();
    for (const item of streams) {
      if (item['sk'] === 'HEAD') continue;
      const user = String(item['user_id']);
      byUser.set(user, [...(byUser.get(user) ?? []), item]);
    }
    const streamProblems: string[] = [];
    const lastPosition = new Map<string, number>();
    const storedLatencies: number[] = [];
    // The earliest send of each key: a re-send or a conflict of it came later and must not shorten its latency.
    const sentAtByNotification = new Map<string, number>();
    for (const m of this.sent) {
      const id = m.key === undefined ? undefined : notificationIdFor(PRODUCER, m.key);
      if (id !== undefined) sentAtByNotification.set(id, Math.min(m.sentAt, sentAtByNotification.get(id) ?? Infinity));
    }
    let events = 0;
    for (const [user, items] of byUser) {
      items.sort((a, b) => Number(a['position']) - Number(b['position']));
      const epochs = new Set(items.map((i) => i['epoch']));
      if (epochs.size > 1) streamProblems.push(`${user}: ${epochs.size} epochs`);
      const seen = new Set<string>();
      for (let i = 0; i < items.length; i += 1) {
        const item = items[i]!;
        events += 1;
        if (i > 0 && Number(item['position']) !== Number(items[i - 1]!['position']) + 1) streamProblems.push(`${user}: gap after ${String(items[i - 1]!['position'])}`);
        const notification = String(item['notification_id']);
        if (seen.has(notification)) streamProblems.push(`${user}: notification ${notification} stored twice`);
        seen.add(notification);
        const sentAt = sentAtByNotification.get(notification);
        if (sentAt !== undefined) storedLatencies.push(Number(item['published_at']) - sentAt);
      }
      lastPosition.set(user, Number(items.at(-1)?.['position'] ?? 0));
    }
    const publishedPush = routes.filter((r) => r['channel'] === 'push' && r['status'] === 'published');
    for (const route of publishedPush) {
      const stored = byUser.get(String(route['user_id']))?.some((e) => e['notification_id'] === route['notification_id']);
      if (!stored) streamProblems.push(`published push route ${String(route['notification_id'])}/${String(route['route_id'])} has no event`);
    }
    if (events !== publishedPush.length) streamProblems.push(`${events} events for ${publishedPush.length} published push routes`);
    fail('every published push event stored once, at gapless positions', streamProblems, events);

    // Clients: each event once, in order, up to the stream's end.
    const clientProblems: string[] = [...this.problems];
    let clientDeliveries = 0;
    let caughtUp = true;
    const checkClient = (name: string, delivered: readonly Delivered[], user: string) => {
      clientDeliveries += delivered.length;
      for (let i = 1; i < delivered.length; i += 1) {
        if (delivered[i]!.position !== delivered[i - 1]!.position + 1) {
          clientProblems.push(`${name}: ${delivered[i - 1]!.position} then ${delivered[i]!.position}`);
          break;
        }
      }
      const ids = new Set(delivered.map((d) => d.eventId));
      if (ids.size !== delivered.length) clientProblems.push(`${name}: ${delivered.length - ids.size} events delivered twice`);
      const end = lastPosition.get(user) ?? 0;
      if ((delivered.at(-1)?.position ?? 0) < end && delivered.length > 0) caughtUp = false;
      if (delivered.length === 0 && end > 0) caughtUp = false;
    };
    for (const [user, delivered] of this.sdkDelivered) checkClient(`SDK client of ${user}`, delivered, user);
    for (const [user, raw] of this.raw) checkClient(`raw client of ${user}`, raw.delivered, user);
    if (!caughtUp) clientProblems.push('some clients have not yet delivered their stream up to its last event');
    fail('every client delivers each event once, in order, up to the end of its stream', clientProblems, this.sdkDelivered.size + this.raw.size);

    // Email: each published email route mailed (at least once: docs/fault-model.md), nothing else.
    const mailbox = (await (await fetch(`${this.endpoints.sesMailbox}/store`)).json()) as { emails: { destination: { to: string[] }; subject: string }[] };
    const emailRoutes = routes.filter((r) => r['channel'] === 'email');
    const mailed = new Map<string, number>();
    for (const email of mailbox.emails) for (const to of email.destination.to) mailed.set(`${to}|${email.subject}`, (mailed.get(`${to}|${email.subject}`) ?? 0) + 1);
    const emailProblems: string[] = [];
    let duplicateEmails = 0;
    let routeEmails = 0;
    for (const route of emailRoutes) {
      const notification = notifications.get(String(route['notification_id']));
      const order = (JSON.parse(String(notification?.['payload'] ?? '{}')) as { order?: number }).order;
      const subject = `${notification?.['notification_type'] === 'order.receipt' ? 'Receipt' : 'Welcome'} ${String(order)}`;
      const count = mailed.get(`${String(route['email'])}|${subject}`) ?? 0;
      routeEmails += count;
      if (route['status'] === 'published' && count === 0) emailProblems.push(`published email route ${String(route['notification_id'])} was never mailed`);
      if (route['status'] !== 'published' && count > 0) emailProblems.push(`${String(route['status'])} email route ${String(route['notification_id'])} was mailed`);
      if (count > 1) duplicateEmails += count - 1;
    }
    if (routeEmails !== mailbox.emails.length) emailProblems.push(`${mailbox.emails.length - routeEmails} emails match no route`);
    fail('every published email route mailed, no other email sent', emailProblems, emailRoutes.length);

    // Metrics against ground truth. A crashed or timed-out accept invocation never flushes its
    // counts: what it accepted can be missing from IntentsAccepted, by at most its records.
    const acceptStopped = Object.entries(chaos.functions).filter(([name]) => name.includes('Accept')).reduce((sum, [, f]) => sum + f.recordsInStoppedInvocations, 0);
    const metrics = {
      IntentsAccepted: { logged: metricSums.get('IntentsAccepted') ?? 0, truth: truth.accepted },
      RoutesCreated: { logged: metricSums.get('RoutesCreated') ?? 0, truth: truth.routes },
      IntentsRejectedTotal: { logged: metricSums.get('IntentsRejectedTotal') ?? 0, truth: truth.rejected },
      IntentsDuplicate: { logged: metricSums.get('IntentsDuplicate') ?? 0, truth: truth.duplicates },
      IntentsRedelivered: { logged: metricSums.get('IntentsRedelivered') ?? 0, truth: 0 },
    };
    const metricProblems: string[] = [];
    const within = (name: keyof typeof metrics, slack: number) => {
      const { logged, truth: expected } = metrics[name];
      if (logged > expected || logged < expected - slack) metricProblems.push(`${name} ${logged}, truth ${expected}${slack > 0 ? ` (at most ${slack} lost with stopped invocations)` : ''}`);
    };
    within('IntentsAccepted', acceptStopped);
    within('RoutesCreated', acceptStopped * FANOUT);
    within('IntentsRejectedTotal', acceptStopped);
    fail('IntentsAccepted, RoutesCreated and IntentsRejectedTotal equal ground truth (less what stopped invocations lost)', metricProblems, 3);

    const drained = invariants.every((i) => i.ok);
    storedLatencies.sort((a, b) => a - b);
    return {
      checkedAt,
      drained,
      invariants,
      metrics,
      storedLatency: { count: storedLatencies.length, p50: percentile(storedLatencies, 50) ?? 0, p99: percentile(storedLatencies, 99) ?? 0 },
      outcome: {
        notifications: notifications.size,
        routes: statuses,
        rejections: rejections.size,
        events,
        emails: mailbox.emails.length,
        duplicateEmails,
        clientDeliveries,
      },
    };
  }

  /** After the soak: a new chat message still reaches its user's client within 10 s. */
  public async stillAlive(): Promise<Invariant> {
    const user = this.users[0]!;
    const key = `alive-${randomUUID()}`;
    const before = this.sdkDelivered.get(user)!.length;
    await this.sqs.send(new SendMessageCommand({
      QueueUrl: this.endpoints.outputs['HeraldIntakeQueueUrl']!,
      MessageBody: JSON.stringify({ notification_type: 'chat.message', producer: PRODUCER, idempotency_key: key, audience: { kind: 'user', user_id: user }, payload: { text: 'still there?' } }),
    }));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (this.sdkDelivered.get(user)!.slice(before).some((d) => d.payload?.['text'] === 'still there?')) {
        return { name: 'the stack still delivers after the soak', ok: true, detail: `delivered in ${10_000 - (deadline - Date.now())} ms` };
      }
      await sleep(100);
    }
    return { name: 'the stack still delivers after the soak', ok: false, detail: 'a chat message sent after the soak did not arrive within 10 s' };
  }

  private async scan(tableName: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateScan({ client: this.documents }, { TableName: tableName, ConsistentRead: true })) items.push(...(page.Items ?? []));
    return items;
  }

  public close(): void {
    for (const client of this.sdkClients.values()) client.close();
    for (const raw of this.raw.values()) raw.close();
    this.sqs.destroy();
    this.documents.destroy();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
