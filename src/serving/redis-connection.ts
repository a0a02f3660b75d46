/**
 * One ioredis connection configured for a latency-critical service: commands
 * fail fast while Redis is down (no offline queue, short timeouts) instead of
 * piling up, and the client reconnects forever in the background so recovery
 * is automatic. `healthy` follows the connection's ready state.
 *
 * With `cluster` the client is an ioredis `Cluster` on the URL's seed nodes
 * (`redis://h1:p1,h2:p2`): each command goes to the master of its key's slot
 * (concurrent commands share each node's connection). Keys used
 * together must share a hash tag (see {@link hashTag}); multi-key commands
 * and pipelines across slots are not allowed there.
 */
import { Cluster, Redis } from 'ioredis';

/** Configuration of a {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /** redis://host:port[/db] URL; with `cluster`, redis://host:port[,host:port...] (seed nodes of the cluster). */
  url: string;
  /** Talk to a Redis Cluster (ioredis `Cluster`) instead of one server. Default false. */
  cluster: boolean;
  /** Fail a command that takes longer than this (ms). Default 500. */
  commandTimeoutMs: number;
  /** Longest wait between reconnect attempts (ms). Default 1000. */
  maxReconnectDelayMs: number;
  /** Connection name shown by CLIENT LIST. */
  name: string;
}

/** A bad Redis URL: says what a valid one looks like. */
export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

/**
 * The nodes of a redis:// URL that may list several `host:port` (a cluster's
 * seed nodes), with its credentials and TLS flag.
 */
export function parseRedisNodes(url: string): { nodes: { host: string; port: number }[]; username?: string; password?: string; tls: boolean } {
  const m = /^(rediss?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/\d*)?$/.exec(url);
  if (!m) throw new RedisUrlError(`not a redis URL: ${JSON.stringify(url)}; expected redis://HOST:PORT (a cluster: redis://HOST:PORT,HOST:PORT,...)`);
  const nodes = m[4]!.split(',').map((hp) => {
    const at = hp.lastIndexOf(':');
    const host = at > 0 ? hp.slice(0, at) : hp;
    const port = at > 0 ? Number(hp.slice(at + 1)) : 6379;
    if (!host || !Number.isInteger(port) || port < 1 || port > 65535)
      throw new RedisUrlError(`bad node ${JSON.stringify(hp)} in Redis URL ${JSON.stringify(url)}; expected HOST:PORT`);
    return { host, port };
  });
  const out: ReturnType<typeof parseRedisNodes> = { nodes, tls: m[1] === 'rediss' };
  if (m[2]) out.username = decodeURIComponent(m[2]);
  if (m[3] !== undefined) out.password = decodeURIComponent(m[3]);
  return out;
}

/**
 * A key's hash tag: Redis Cluster places keys by the text between the first
 * `{` and `}`, so keys that carry the same tag share a slot (one user's
 * counts, one stream and its companions). A prefix with braces would move
 * the tag, so it is refused.
 */
export function hashTag(prefix: string, tag: string | number): string {
  if (/[{}]/.test(prefix))
    throw new RedisUrlError(`Redis key prefix ${JSON.stringify(prefix)} must not contain { or } (they would change the keys' hash tags)`);
  return `{${tag}}`;
}

export class RedisConnection {
  readonly client: Redis | Cluster;
  private ready = false;
  /** Last connection or command error. */
  lastError: string | undefined;
  private readonly readyListeners: (() => void)[] = [];

  constructor(options: Partial<RedisConnectionOptions> & { url: string }) {
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    const common = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 500,
      connectTimeout: 2000,
      connectionName: options.name ?? 'rliv',
      reconnectOnError: () => false,
    };
    if (options.cluster) {
      const { nodes, username, password, tls } = parseRedisNodes(options.url);
      this.client = new Cluster(nodes, {
        lazyConnect: true,
        enableOfflineQueue: false,
        // No enableAutoPipelining: ioredis 5's Cluster then drops the command name of call()/callBuffer() (XREADGROUP fails).
        clusterRetryStrategy: (times) => Math.min(50 * times, maxDelay),
        slotsRefreshTimeout: 2000,
        redisOptions: { ...common, ...(username ? { username } : {}), ...(password !== undefined ? { password } : {}), ...(tls ? { tls: {} } : {}) },
      });
    } else {
      if (parseRedisNodes(options.url).nodes.length > 1)
        throw new RedisUrlError(
          `Redis URL ${JSON.stringify(options.url)} lists several nodes; that is a cluster's seed list (use cluster mode: --redis-cluster)`,
        );
      this.client = new Redis(options.url, { ...common, lazyConnect: true, retryStrategy: (times) => Math.min(50 * times, maxDelay) });
    }
    this.client.on('ready', () => {
      this.ready = true;
      for (const l of this.readyListeners) l();
    });
    this.client.on('close', () => {
      this.ready = false;
    });
    this.client.on('end', () => {
      this.ready = false;
    });
    // Without a listener ioredis prints every connection error as unhandled.
    this.client.on('error', (err: Error) => {
      this.lastError = err.message;
    });
  }

  /** Starts connecting; resolves once connected, or after the first failure (recovery continues in the background). */
  async connect(): Promise<boolean> {
    try {
      await this.client.connect();
      // A Cluster resolves connect() before it emits 'ready'.
      if (this.client.status === 'ready') this.ready = true;
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
