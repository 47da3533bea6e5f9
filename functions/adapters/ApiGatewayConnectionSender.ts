import {
  ApiGatewayManagementApiClient,
  type ApiGatewayManagementApiClientConfig,
  DeleteConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { withRequestAccounting } from './requestAccounting.ts';
import { CONNECTION_TIMEOUT_MS, REQUEST_TIMEOUTS_MS } from './sdkTimeouts.ts';
import { ConnectionGoneError, FrameTooLargeError, type ConnectionSender } from '../core/push/pushPorts.ts';

/** The API Gateway management API (`@connections`) of one WebSocket stage. */
export class ApiGatewayConnectionSender implements ConnectionSender {
  private readonly client: ApiGatewayManagementApiClient;

  /** `callbackUrl`: https://{api-id}.execute-api.{region}.amazonaws.com/{stage} */
  public constructor(callbackUrl: string, config: Omit<ApiGatewayManagementApiClientConfig, 'endpoint'> = {}) {
    this.client = withRequestAccounting(
      new ApiGatewayManagementApiClient({
        requestHandler: { requestTimeout: REQUEST_TIMEOUTS_MS.connections, connectionTimeout: CONNECTION_TIMEOUT_MS },
        ...config,
        endpoint: callbackUrl,
      }),
      'apigateway',
    );
  }

  public async send(connectionId: string, data: string): Promise<void> {
    try {
      await this.client.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(data, 'utf8') }));
    } catch (error) {
      if (error instanceof GoneException) throw new ConnectionGoneError(connectionId);
      if (error instanceof PayloadTooLargeException) throw new FrameTooLargeError(Buffer.byteLength(data, 'utf8'));
      throw error;
    }
  }

  public async close(connectionId: string): Promise<void> {
    try {
      await this.client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
    } catch (error) {
      if (!(error instanceof GoneException)) throw error;
    }
  }
}
