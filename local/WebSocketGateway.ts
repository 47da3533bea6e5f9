import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './Intrinsics.ts';
import type { LocalFunction } from './FunctionHost.ts';

/** API Gateway WebSocket limits (quotas page): 128 KiB messages, 10 min idle, 2 h per connection. */
export const MAX_MESSAGE_BYTES = 128 * 1024;

export interface GatewayRoute {
  readonly fn: LocalFunction;
  readonly authorizer?: { readonly fn: LocalFunction; readonly identitySource: readonly string[] };
}

export interface GatewaySpec {
  readonly apiId: string;
  readonly stageName: string;
  readonly routes: ReadonlyMap<string, GatewayRoute>;
}

export interface GatewayLimits {
  readonly idleTimeoutMs: number;
  readonly maxConnectionMs: number;
}

interface LiveConnection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly authorizer: Record<string, unknown>;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** Gone without $disconnect (a vanished client): the gateway forgets it silently. */
  vanished: boolean;
  /** The TCP connection under the WebSocket, paused to stall it. */
  readonly transport: Duplex;
  /** The network path died unnoticed: nothing the client sends arrives, posts are accepted and lost. */
  stalled: boolean;
  idleTimer?: NodeJS.Timeout;
  lifetimeTimer?: NodeJS.Timeout;
}

/**
 * The offline stand-in for an API Gateway WebSocket API: a `ws` server that runs the REQUEST
 * authorizer and route integrations with API-Gateway-shaped events (route selection on
 * `$request.body.action`), and an HTTP `@connections` management API (POST send, GET info,
 * DELETE close, 410 for gone ids) that the real `@aws-sdk/client-apigatewaymanagementapi` talks to.
 */
export class WebSocketGateway {
  private server?: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly connections = new Map<string, LiveConnection>();
  private readonly connecting = new Set<string>();
  private readonly pendingDisconnects = new Set<Promise<unknown>>();

  public constructor(
    private readonly spec: GatewaySpec,
    private readonly log: (line: string) => void,
    private readonly limits: GatewayLimits = { idleTimeoutMs: 10 * 60_000, maxConnectionMs: 2 * 60 * 60_000 },
  ) {}

  public async listen(port: number): Promise<string> {
    this.server = createServer((req, res) => void this.management(req, res).catch((error: Error) => errorReply(res, 500, 'InternalServerError', error.message)));
    this.server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket, head).catch((error: Error) => reject(socket, 500, error.message)));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  public async close(): Promise<void> {
    for (const connection of this.connections.values()) {
      connection.vanished = true;
      connection.socket.terminate();
    }
    this.connections.clear();
    await Promise.allSettled([...this.pendingDisconnects]);
    this.wss.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  public connectionIds(): string[] {
    return [...this.connections.keys()];
  }

  /** Connections whose `$connect` is still running (tests post to them to see the 410). */
  public connectingIds(): string[] {
    return [...this.connecting];
  }

  /** Drops the socket without running $disconnect, like a client that vanished. */
  public vanish(connectionId: string): boolean {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    connection.vanished = true;
    this.forget(connection);
    connection.socket.terminate();
    return true;
  }

  /**
   * A half-open connection: the path between client and gateway dies without either side being
   * told (a laptop sleeps, a NAT forgets). Nothing the client sends arrives any more, posts are
   * accepted and lost, and the client hears no close: only its own timeouts can tell. The idle
   * timeout ends it here, with $disconnect, as API Gateway would.
   */
  public stall(connectionId: string): boolean {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    connection.stalled = true;
    connection.transport.pause();
    return true;
  }

  /** Closes the socket from the server side (1001 going away), running $disconnect as API Gateway does. */
  public drop(connectionId: string): boolean {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    connection.socket.close(1001, 'Going away');
    return true;
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    if (url.pathname.replace(/\/$/, '') !== `/${this.spec.stageName}`) return reject(socket, 404, 'Not Found');
    const connectRoute = this.spec.routes.get('$connect');
    const connectionId = randomBytes(11).toString('base64').replace(/\//g, '_');
    const now = Date.now();
    const query = Object.fromEntries(url.searchParams);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : v ?? '']));
    const requestContext = this.requestContext('$connect', 'CONNECT', connectionId, now, req.socket.remoteAddress ?? '127.0.0.1');
    let authorizer: Record<string, unknown> = {};
    if (connectRoute?.authorizer) {
      const missing = connectRoute.authorizer.identitySource.some((source) => {
        const match = /^route\.request\.(querystring|header)\.(.+)$/.exec(source);
        if (!match) return false;
        return match[1] === 'querystring' ? !query[match[2]!] : !headers[match[2]!.toLowerCase()];
      });
      if (missing) return reject(socket, 401, 'Unauthorized');
      let result: { principalId?: string; policyDocument?: { Statement?: { Effect?: string }[] }; context?: Record<string, unknown> };
      try {
        result = (await connectRoute.authorizer.fn.invoke({
          type: 'REQUEST',
          methodArn: `arn:aws:execute-api:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${this.spec.apiId}/${this.spec.stageName}/$connect`,
          headers,
          queryStringParameters: query,
          stageVariables: {},
          requestContext,
        })) as typeof result;
      } catch (error) {
        const unauthorized = /Unauthorized/.test((error as Error).message);
        return reject(socket, unauthorized ? 401 : 500, unauthorized ? 'Unauthorized' : 'Internal Server Error');
      }
      const allowed = result?.policyDocument?.Statement?.every((s) => s.Effect === 'Allow') && (result.policyDocument.Statement.length ?? 0) > 0;
      if (!allowed) return reject(socket, 403, 'Forbidden');
      authorizer = { ...(result.context ?? {}), principalId: result.principalId };
    }
    if (connectRoute) {
      // Until $connect has returned, the connection does not exist for the @connections API: a
      // post gets 410 GoneException, as on AWS (docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html).
      this.connecting.add(connectionId);
      try {
        const response = (await connectRoute.fn.invoke({
          headers,
          queryStringParameters: query,
          requestContext: { ...requestContext, authorizer },
          isBase64Encoded: false,
        })) as { statusCode?: number } | null;
        const status = response?.statusCode ?? 200;
        if (status >= 300) return reject(socket, status, 'Connection refused by $connect');
      } catch (error) {
        this.log(`[gateway] $connect failed: ${(error as Error).message}`);
        return reject(socket, 500, 'Internal Server Error');
      } finally {
        this.connecting.delete(connectionId);
      }
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket, connectionId, authorizer, now, req));
  }

  private accept(ws: WebSocket, transport: Duplex, id: string, authorizer: Record<string, unknown>, connectedAt: number, req: IncomingMessage): void {
    const connection: LiveConnection = {
      id,
      socket: ws,
      authorizer,
      connectedAt,
      lastActiveAt: Date.now(),
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      userAgent: String(req.headers['user-agent'] ?? ''),
      vanished: false,
      transport,
      stalled: false,
    };
    this.connections.set(id, connection);
    this.armIdleTimer(connection);
    connection.lifetimeTimer = setTimeout(() => ws.close(1001, 'Going away'), this.limits.maxConnectionMs);
    ws.on('message', (data, isBinary) => {
      connection.lastActiveAt = Date.now();
      this.armIdleTimer(connection);
      void this.message(connection, isBinary ? Buffer.from(data as Buffer).toString('base64') : data.toString(), isBinary);
    });
    ws.on('close', () => {
      this.forget(connection);
      if (connection.vanished) return;
      const route = this.spec.routes.get('$disconnect');
      if (!route) return;
      const work = route.fn
        .invoke({ requestContext: { ...this.requestContext('$disconnect', 'DISCONNECT', id, Date.now(), connection.sourceIp), authorizer }, isBase64Encoded: false })
        .catch((error: Error) => this.log(`[gateway] $disconnect failed: ${error.message}`));
      this.pendingDisconnects.add(work);
      void work.finally(() => this.pendingDisconnects.delete(work));
    });
    ws.on('error', (error) => this.log(`[gateway] socket ${id}: ${error.message}`));
  }

  /** A client frame: routed on `$request.body.action`; a binary one goes to `$default`, base64-encoded, as API Gateway passes it. */
  private async message(connection: LiveConnection, body: string, isBinary: boolean): Promise<void> {
    const action = isBinary ? undefined : actionOf(body);
    // $connect, $disconnect and $default are API Gateway's own route keys: a message's action never selects them.
    const routeKey = action !== undefined && !action.startsWith('$') && this.spec.routes.has(action) ? action : '$default';
    const route = this.spec.routes.get(routeKey);
    const requestId = randomUUID();
    if (!route) {
      connection.socket.send(JSON.stringify({ message: 'Forbidden', connectionId: connection.id, requestId }));
      return;
    }
    try {
      await route.fn.invoke({
        requestContext: { ...this.requestContext(routeKey, 'MESSAGE', connection.id, Date.now(), connection.sourceIp), messageId: randomUUID(), authorizer: connection.authorizer },
        body,
        isBase64Encoded: isBinary,
      });
    } catch (error) {
      this.log(`[gateway] route ${routeKey} failed: ${(error as Error).message}`);
      if (connection.socket.readyState === WebSocket.OPEN) {
        connection.socket.send(JSON.stringify({ message: 'Internal server error', connectionId: connection.id, requestId }));
      }
    }
  }

  private async management(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://local');
    const match = new RegExp(`^/${this.spec.stageName}/@connections/([^/]+)$`).exec(url.pathname);
    if (!match) return errorReply(res, 404, 'NotFoundException', `no route ${req.method} ${url.pathname}`);
    const connection = this.connections.get(decodeURIComponent(match[1]!));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (!connection || connection.socket.readyState !== WebSocket.OPEN) return errorReply(res, 410, 'GoneException', 'Gone');
    switch (req.method) {
      case 'POST': {
        const data = Buffer.concat(chunks);
        if (data.length > MAX_MESSAGE_BYTES) return errorReply(res, 413, 'PayloadTooLargeException', `Message too long (${data.length} bytes; limit ${MAX_MESSAGE_BYTES})`);
        if (connection.stalled) return void res.writeHead(200).end();
        await new Promise<void>((resolve, rejectSend) => connection.socket.send(data.toString('utf8'), (error) => (error ? rejectSend(error) : resolve())));
        res.writeHead(200).end();
        return;
      }
      case 'GET':
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            ConnectedAt: new Date(connection.connectedAt).toISOString(),
            LastActiveAt: new Date(connection.lastActiveAt).toISOString(),
            Identity: { SourceIp: connection.sourceIp, UserAgent: connection.userAgent },
          }),
        );
        return;
      case 'DELETE':
        connection.socket.close(1000, 'Connection deleted');
        res.writeHead(204).end();
        return;
      default:
        return errorReply(res, 405, 'MethodNotAllowed', `${req.method} is not supported`);
    }
  }

  private requestContext(routeKey: string, eventType: string, connectionId: string, at: number, sourceIp: string) {
    return {
      routeKey,
      eventType,
      messageDirection: 'IN',
      stage: this.spec.stageName,
      apiId: this.spec.apiId,
      connectionId,
      connectedAt: at,
      requestTimeEpoch: Date.now(),
      requestId: randomUUID(),
      extendedRequestId: randomUUID(),
      domainName: '127.0.0.1',
      identity: { sourceIp },
    };
  }

  private armIdleTimer(connection: LiveConnection): void {
    clearTimeout(connection.idleTimer);
    // A stalled connection cannot complete a closing handshake: it is cut, and $disconnect runs.
    connection.idleTimer = setTimeout(() => (connection.stalled ? connection.socket.terminate() : connection.socket.close(1001, 'Going away')), this.limits.idleTimeoutMs);
  }

  private forget(connection: LiveConnection): void {
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.lifetimeTimer);
    this.connections.delete(connection.id);
  }
}

/** The `action` of a JSON text frame, when it is a string. */
function actionOf(body: string): string | undefined {
  try {
    const action = (JSON.parse(body) as { action?: unknown } | null)?.action;
    return typeof action === 'string' ? action : undefined;
  } catch {
    return undefined;
  }
}

function reject(socket: Duplex, status: number, message: string): void {
  socket.write(`HTTP/1.1 ${status} ${message}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
  socket.destroy();
}

function errorReply(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type }).end(JSON.stringify({ message }));
}
