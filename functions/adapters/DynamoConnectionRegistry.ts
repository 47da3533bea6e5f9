import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, paginateQuery, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConnectionRegistry } from '../core/push/pushPorts.ts';
import type { ConnectionRecord } from '../core/push/pushTypes.ts';

/** API Gateway closes every WebSocket after 2 h; keep entries a little longer, then TTL them. */
export const CONNECTION_TTL_MS = 2 * 60 * 60_000 + 10 * 60_000;

/** Live connections, partitioned by user (PK user_id, SK connection_id). */
export class DynamoConnectionRegistry implements ConnectionRegistry {
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
        connections.push(connection as ConnectionRecord);
      }
    }
    return connections;
  }
}
