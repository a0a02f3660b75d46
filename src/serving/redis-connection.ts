/**
 * One ioredis connection configured for a latency-critical service: commands
 * fail fast while Redis is down (no offline queue, short timeouts) instead of
 * piling up, and the client reconnects forever in the background so recovery
 * is automatic. `healthy` follows the connection's ready state.
 */
import { Redis } from 'ioredis';

/** Configuration of a {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /** redis://host:port[/db] URL. */
  url: string;
  /** Fail a command that takes longer than this (ms). Default 500. */
  commandTimeoutMs: number;
  /** Longest wait between reconnect attempts (ms). Default 1000. */
  maxReconnectDelayMs: number;
  /** Connection name shown by CLIENT LIST. */
  name: string;
}

export class RedisConnection {
  readonly client: Redis;
  private ready = false;
  /** Last connection or command error. */
  lastError: string | undefined;
  private readonly readyListeners: (() => void)[] = [];

  constructor(options: Partial<RedisConnectionOptions> & { url: string }) {
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2000,
      connectionName: options.name ?? 'rliv',
      retryStrategy: (times) => Math.min(50 * times, maxDelay),
      reconnectOnError: () => false,
    });
    this.client.on('ready', () => {
      this.ready = true;
      for (const l of this.readyListeners) l();
    });
    this.client.on('close', () => { this.ready = false; });
    this.client.on('end', () => { this.ready = false; });
    // Without a listener ioredis prints every connection error as unhandled.
    this.client.on('error', (err: Error) => { this.lastError = err.message; });
  }

  /** Starts connecting; resolves once connected, or after the first failure (recovery continues in the background). */
  async connect(): Promise<boolean> {
    try {
      await this.client.connect();
    } catch (err) {
      this.lastError = (err as Error).message;
    }
    return this.ready;
  }

  get healthy(): boolean {
    return this.ready;
  }

  /** Called each time the connection becomes ready (also after a reconnect). */
  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  async close(): Promise<void> {
    this.ready = false;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
