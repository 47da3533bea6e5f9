import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, paginateQuery, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { ReplayCharge, ReplayLedger } from '../core/push/ClientBudget.ts';
import { RecentlyUsed } from '../core/RecentlyUsed.ts';
import type { ConnectionRegistry } from '../core/push/pushPorts.ts';
import type { ConnectionRecord } from '../core/push/pushTypes.ts';

/** API Gateway closes every WebSocket after 2 h; keep entries a little longer, then TTL them. */
export const CONNECTION_TTL_MS = 2 * 60 * 60_000 + 10 * 60_000;

/** The replay budget's bookkeeping on a connection's entry, left out of the records listed. */
const BUDGET_ATTRIBUTES = ['replay_window', 'replay_events', 'replay_resumes', 'replay_token', 'replay_warned'] as const;

/**
 * Live connections, partitioned by user (PK user_id, SK connection_id). Each entry also carries
 * its connection's replay budget for the current minute (ReplayLedger).
 */
export class DynamoConnectionRegistry implements ConnectionRegistry, ReplayLedger {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public async register(connection: ConnectionRecord): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...connection, expires_at: Math.ceil((connection.connected_at + CONNECTION_TTL_MS) / 1000) },
      }),
    );
  }

  public async remove(userId: string, connectionId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { user_id: userId, connection_id: connectionId } }));
  }

  public claim(userId: string, connectionId: string): Promise<boolean> {
    return this.deleteIf(userId, connectionId, 'attribute_exists(connection_id)');
  }

  public async removeIfConnectedBefore(userId: string, connectionId: string, connectedBefore: number): Promise<void> {
    await this.deleteIf(userId, connectionId, 'connected_at < :cutoff', { ':cutoff': connectedBefore });
  }

  /** Deletes the entry if `condition` holds; false when it did not (a lost race, not an error). */
  private async deleteIf(userId: string, connectionId: string, condition: string, values?: Record<string, unknown>): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { user_id: userId, connection_id: connectionId },
          ConditionExpression: condition,
          ...(values !== undefined ? { ExpressionAttributeValues: values } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  public async listForUser(userId: string, options: { readonly consistent?: boolean } = {}): Promise<ConnectionRecord[]> {
    const connections: ConnectionRecord[] = [];
    const nowSeconds = Date.now() / 1000;
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'user_id = :user',
        ExpressionAttributeValues: { ':user': userId },
        ...(options.consistent ? { ConsistentRead: true } : {}),
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        if ((item['expires_at'] as number) <= nowSeconds) continue;
        const { expires_at: _ttl, ...connection } = item;
        for (const attribute of BUDGET_ATTRIBUTES) delete connection[attribute];
        connections.push(connection as ConnectionRecord);
      }
    }
    return connections;
  }

  /**
   * One resume against the entry's current window, by conditional UpdateItem: a new window resets
   * the counts, the same window adds to them while both are under their maximum. A connection's
   * first resume (nearly every resume: the client resumes once after connecting) is one write.
   * Each write carries a token, so one whose answer was lost and that the SDK retried is
   * recognised as ours instead of charged twice.
   */
  public async chargeReplay(charge: Parameters<ReplayLedger['chargeReplay']>[0]): Promise<ReplayCharge> {
    const token = randomUUID();
    let window = charge.windowStart;
    let sameWindow = this.chargedWindows.get(charge.connectionId) === window;
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const old = sameWindow
        ? await this.updateIf(charge, 'SET replay_events = replay_events + :n, replay_resumes = replay_resumes + :one, replay_token = :token',
          'replay_window = :w AND replay_events < :maxEvents AND replay_resumes < :maxResumes',
          { ':w': window, ':n': charge.events, ':one': 1, ':token': token, ':maxEvents': charge.maxEvents, ':maxResumes': charge.maxResumes })
        : await this.updateIf(charge, 'SET replay_window = :w, replay_events = :n, replay_resumes = :one, replay_token = :token',
          'attribute_exists(connection_id) AND (attribute_not_exists(replay_window) OR replay_window < :w)',
          { ':w': window, ':n': charge.events, ':one': 1, ':token': token });
      if (old === 'applied' || old?.['replay_token'] === token) {
        this.chargedWindows.set(charge.connectionId, window);
        return { kind: 'charged' };
      }
      if (old === undefined) return { kind: 'unregistered' };
      const oldWindow = old['replay_window'] as number | undefined;
      if (oldWindow === undefined || oldWindow < window) {
        sameWindow = false;
        continue;
      }
      // A window this far or further on (another environment's clock a little ahead): charge it there.
      window = oldWindow;
      if ((old['replay_events'] as number) < charge.maxEvents && (old['replay_resumes'] as number) < charge.maxResumes) {
        sameWindow = true;
        continue;
      }
      const warned = old['replay_warned'] === window;
      if (!warned) await this.updateIf(charge, 'SET replay_warned = :w', 'attribute_exists(connection_id)', { ':w': window });
      return { kind: 'over', warned };
    }
    // Four lost races in a row: the connection is busy enough to be over budget.
    return { kind: 'over', warned: false };
  }

  /** Windows this environment charged, by connection: a second resume tries the same window first. */
  private readonly chargedWindows = new RecentlyUsed<string, number>(10_000);

  /** 'applied', or the entry as it was when the condition failed (undefined: no entry). */
  private async updateIf(
    key: { readonly userId: string; readonly connectionId: string },
    update: string,
    condition: string,
    values: Record<string, unknown>,
  ): Promise<'applied' | Record<string, unknown> | undefined> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { user_id: key.userId, connection_id: key.connectionId },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'applied';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return error.Item === undefined ? undefined : unmarshall(error.Item);
    }
  }
}
