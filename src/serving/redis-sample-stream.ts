/**
 * Sample stream on Redis Streams with consumer groups (docs/design.md §9).
 *
 * One stream key (`<prefix>{samples}`: the hash tag keeps the stream, and any
 * key used with it, on one slot of a Redis Cluster); each entry holds one encoded sample
 * batch (field "d") and its row count (field "n"). Trainers form a consumer
 * group: XREADGROUP spreads entries over them, XACK marks an entry done.
 * After a restart a consumer first re-reads its own unacknowledged entries
 * once each, page by page in id order (XREADGROUP ... <last id read>), then
 * new ones; entries left unacknowledged by a consumer that never came back
 * are taken over with XAUTOCLAIM after `claimIdleMs`, so acknowledged-or-not,
 * no published entry is lost. Entries this object delivered and that are not
 * acknowledged yet ("held": a trainer acknowledges at its next publish) are
 * never delivered again by it: XAUTOCLAIM results it already holds are
 * skipped, and a heartbeat (XCLAIM ... JUSTID every `claimIdleMs / 3`) keeps
 * them from looking idle to other consumers while their holder is alive.
 *
 * The producer never blocks the ranking path: while Redis is down it keeps up
 * to `maxBufferedEntries` encoded entries in memory (then drops, counted) and
 * writes them when the connection is ready again.
 */
import type { SampleBatch } from '../mdp/scri-mdp.js';
import { decodeSamples, encodeSamples, SampleCodecError } from './sample-codec.js';
import { DEFAULT_STREAM_MAX_ENTRIES, type SampleStream, type SampleStreamEntry, type SampleStreamStatus } from './sample-stream.js';
import { hashTag, RedisConnection } from './redis-connection.js';

/** Configuration of {@link RedisSampleStream}. */
export interface RedisSampleStreamOptions {
  /** redis://host:port URL (a cluster: its seed nodes, redis://h1:p1,h2:p2). */
  url: string;
  /** The URL is a Redis Cluster. Default false. */
  cluster: boolean;
  /** Key prefix. Default "rliv:". */
  prefix: string;
  /** Approximate MAXLEN of the stream (entries). Default DEFAULT_STREAM_MAX_ENTRIES (10,000 entries, ~300 MB). */
  maxLength: number;
  /** Entries buffered in the producer while Redis is down. Default 10,000. */
  maxBufferedEntries: number;
  /** Unacknowledged entries idle longer than this are claimed from other consumers. Default 60,000 ms. */
  claimIdleMs: number;
}

type RawEntry = [Buffer, Buffer[]];

export class RedisSampleStream implements SampleStream {
  readonly kind = 'redis' as const;
  readonly key: string;
  private readonly url: string;
  private readonly cluster: boolean;
  private readonly producer: RedisConnection;
  private consumerConn: RedisConnection | undefined;
  private readonly maxLength: number;
  private readonly maxBuffered: number;
  private readonly claimIdleMs: number;
  private buffer: { bytes: Buffer; n: number }[] = [];
  private readonly groupsReady = new Set<string>();
  private readonly drainedOwnPending = new Set<string>();
  /** group/consumer -> id of the last own pending entry re-read (the next page starts after it). */
  private readonly pendingCursor = new Map<string, string>();
  /** group/consumer -> ids delivered by this object and not acknowledged yet. */
  private readonly held = new Map<string, Set<string>>();
  private lastClaimAt = 0;
  private lastHeartbeatAt = 0;
  private publishedEntries = 0;
  private publishedSamples = 0;
  private dropped = 0;
  private flushing = false;

  constructor(options: Partial<RedisSampleStreamOptions> & { url: string }) {
    this.url = options.url;
    this.cluster = options.cluster ?? false;
    const prefix = options.prefix ?? 'rliv:';
    this.key = `${prefix}${hashTag(prefix, 'samples')}`;
    this.maxLength = options.maxLength ?? DEFAULT_STREAM_MAX_ENTRIES;
    this.maxBuffered = options.maxBufferedEntries ?? 10_000;
    this.claimIdleMs = options.claimIdleMs ?? 60_000;
    this.producer = new RedisConnection({ url: options.url, cluster: this.cluster, commandTimeoutMs: 1000, name: 'rliv-sample-producer' });
    this.producer.onReady(() => {
      void this.flushBuffer();
    });
  }

  connect(): Promise<boolean> {
    return this.producer.connect();
  }

  async publish(batch: SampleBatch): Promise<void> {
    if (batch.count === 0) return;
    const entry = { bytes: Buffer.from(encodeSamples(batch)), n: batch.count };
    if (!this.producer.healthy || this.buffer.length > 0) {
      this.bufferEntry(entry);
      if (this.producer.healthy) void this.flushBuffer();
      return;
    }
    try {
      await this.xadd(entry);
    } catch (err) {
      this.producer.lastError = (err as Error).message;
      this.bufferEntry(entry);
    }
  }

  private async xadd(entry: { bytes: Buffer; n: number }): Promise<void> {
    await this.producer.client.xadd(this.key, 'MAXLEN', '~', this.maxLength, '*', 'n', entry.n, 'd', entry.bytes);
    this.publishedEntries++;
    this.publishedSamples += entry.n;
  }

  private bufferEntry(entry: { bytes: Buffer; n: number }): void {
    if (this.buffer.length >= this.maxBuffered) {
      this.dropped++;
      return;
    }
    this.buffer.push(entry);
  }

  /** Writes buffered entries, in order, after a reconnect. */
  async flushBuffer(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.buffer.length > 0 && this.producer.healthy) {
        await this.xadd(this.buffer[0]!);
        this.buffer.shift();
      }
    } catch (err) {
      this.producer.lastError = (err as Error).message;
    } finally {
      this.flushing = false;
    }
  }

  private async consumer(): Promise<RedisConnection> {
    if (this.consumerConn === undefined) {
      this.consumerConn = new RedisConnection({ url: this.url, cluster: this.cluster, commandTimeoutMs: 10_000, name: 'rliv-sample-consumer' });
      await this.consumerConn.connect();
    }
    return this.consumerConn;
  }

  private async ensureGroup(conn: RedisConnection, group: string): Promise<void> {
    if (this.groupsReady.has(group)) return;
    try {
      // Start at 0: samples published before the first trainer started are trained on too.
      await conn.client.xgroup('CREATE', this.key, group, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
    this.groupsReady.add(group);
  }

  async read(group: string, consumer: string, maxEntries: number, blockMs: number): Promise<SampleStreamEntry[]> {
    const conn = await this.consumer();
    try {
      await this.ensureGroup(conn, group);
      const who = `${group}/${consumer}`;
      let held = this.held.get(who);
      if (held === undefined) this.held.set(who, (held = new Set()));
      while (!this.drainedOwnPending.has(who)) {
        // Own unacknowledged entries (after a restart): each once, the page after the last one read.
        const own = (await conn.client.callBuffer(
          'XREADGROUP',
          'GROUP',
          group,
          consumer,
          'COUNT',
          maxEntries,
          'STREAMS',
          this.key,
          this.pendingCursor.get(who) ?? '0',
        )) as [Buffer, RawEntry[]][] | null;
        const page = own?.[0]?.[1] ?? [];
        if (page.length === 0) {
          this.drainedOwnPending.add(who);
          this.pendingCursor.delete(who);
          break;
        }
        this.pendingCursor.set(who, page[page.length - 1]![0].toString());
        const entries = await this.decode(conn, group, own);
        if (entries.length > 0) return this.hold(held, entries);
      }
      const now = Date.now();
      if (held.size > 0 && now - this.lastHeartbeatAt > this.claimIdleMs / 3) {
        this.lastHeartbeatAt = now;
        // Still alive: reset the idle time of the held entries so no other consumer claims them.
        const ids = [...held];
        for (let i = 0; i < ids.length; i += 1000) await conn.client.xclaim(this.key, group, consumer, 0, ...ids.slice(i, i + 1000), 'JUSTID');
      }
      if (now - this.lastClaimAt > Math.min(this.claimIdleMs, 10_000)) {
        this.lastClaimAt = now;
        const claimed = (await conn.client.callBuffer('XAUTOCLAIM', this.key, group, consumer, this.claimIdleMs, '0-0', 'COUNT', maxEntries)) as unknown as [
          Buffer,
          RawEntry[],
        ];
        // Entries this object holds (delivered, not yet acknowledged) are not delivered twice.
        const others = claimed[1].filter(([id]) => !held!.has(id.toString()));
        const entries = await this.decode(conn, group, [[Buffer.from(this.key), others]]);
        if (entries.length > 0) return this.hold(held, entries);
      }
      const fresh = await conn.client.callBuffer(
        'XREADGROUP',
        'GROUP',
        group,
        consumer,
        'COUNT',
        maxEntries,
        'BLOCK',
        Math.max(1, Math.min(blockMs, 5000)),
        'STREAMS',
        this.key,
        '>',
      );
      return this.hold(held, await this.decode(conn, group, fresh as [Buffer, RawEntry[]][] | null));
    } catch (err) {
      conn.lastError = (err as Error).message;
      this.groupsReady.delete(group);
      // Redis is down: wait instead of spinning; the caller simply gets nothing this time.
      await new Promise((r) => setTimeout(r, Math.min(blockMs, 1000)));
      return [];
    }
  }

  /** Decodes raw entries; trimmed (nil) or corrupt entries are acknowledged and skipped. */
  private async decode(conn: RedisConnection, group: string, raw: [Buffer, RawEntry[]][] | null): Promise<SampleStreamEntry[]> {
    const out: SampleStreamEntry[] = [];
    const bad: string[] = [];
    if (!raw) return out;
    for (const [, entries] of raw) {
      for (const [idBuf, fields] of entries) {
        const id = idBuf.toString();
        let data: Buffer | undefined;
        if (fields) for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i]!.toString() === 'd') data = fields[i + 1];
        if (data === undefined) {
          bad.push(id);
          continue;
        }
        try {
          out.push({ id, batch: decodeSamples(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)) });
        } catch (err) {
          if (!(err instanceof SampleCodecError)) throw err;
          bad.push(id);
        }
      }
    }
    if (bad.length > 0) await conn.client.xack(this.key, group, ...bad);
    return out;
  }

  /** Remembers delivered entries as held until acknowledged. */
  private hold(held: Set<string>, entries: SampleStreamEntry[]): SampleStreamEntry[] {
    for (const e of entries) held.add(e.id);
    return entries;
  }

  async ack(group: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    const conn = await this.consumer();
    await conn.client.xack(this.key, group, ...ids);
    for (const [who, held] of this.held) if (who.startsWith(`${group}/`)) for (const id of ids) held.delete(id);
  }

  status(): SampleStreamStatus {
    const s: SampleStreamStatus = {
      kind: 'redis',
      healthy: this.producer.healthy,
      publishedEntries: this.publishedEntries,
      publishedSamples: this.publishedSamples,
      bufferedEntries: this.buffer.length,
      droppedEntries: this.dropped,
    };
    if (this.producer.lastError !== undefined) s.lastError = this.producer.lastError;
    return s;
  }

  async close(): Promise<void> {
    await this.producer.close();
    if (this.consumerConn) await this.consumerConn.close();
  }
}
