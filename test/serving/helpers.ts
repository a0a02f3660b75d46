/** Shared pieces of the serving tests: a small online system and a private redis-server. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { tempDir } from '../helpers/paths.js';
import { startOnlineSystem, type OnlineSystem, type OnlineSystemOptions } from '../../src/serving/online-system.js';

/** A small agent so tests build, save and load models in milliseconds. */
export const SMALL_AGENT_CONFIG = { batchSize: 32, minReplaySize: 16, embeddingRows: 4096, replayCapacity: 5000 };
export const SMALL_CATALOG = { users: 40, items: 200 };

export async function smallSystem(overrides: Partial<OnlineSystemOptions> = {}): Promise<OnlineSystem> {
  return startOnlineSystem({
    modelsDir: tempDir('rliv-models-'),
    seed: 7,
    catalog: SMALL_CATALOG,
    agentConfig: SMALL_AGENT_CONFIG,
    inlineTrainer: false,
    reloadIntervalMs: 50,
    tickIntervalMs: 20,
    ...overrides,
  });
}

/** N candidates of the serving catalog: items 0..n-1 with their true authors. */
export function candidatesOf(system: OnlineSystem, n: number, offset = 0): { itemId: number; authorId: number }[] {
  const cat = system.service.holder.current.catalog;
  return Array.from({ length: n }, (_, i) => ({ itemId: offset + i, authorId: cat.itemAuthor[offset + i]! }));
}

export const HAS_REDIS_SERVER = spawnSync('redis-server', ['--version']).status === 0;
export const NO_REDIS_REASON = 'redis-server is not installed (apt-get install -y redis-server); Redis integration tests skipped';

/** True when nothing listens on loopback `port`. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A private redis-server on loopback, no persistence; stop() and start() again on the same port. */
export class TestRedis {
  private proc: ChildProcess | undefined;
  /**
   * @param aofDir when set, the server persists to an append-only file in
   * this directory (fsync on every write), so a restart keeps its data;
   * otherwise it has no persistence at all.
   */
  constructor(
    readonly port: number,
    private readonly aofDir?: string,
  ) {}

  /** Starts a server on `port`, or on any free port. */
  static async start(port?: number, aofDir?: string): Promise<TestRedis> {
    const r = new TestRedis(port ?? (await freePort()), aofDir);
    await r.start();
    return r;
  }

  /**
   * Starts a server on a free port of [lo, hi] (issue 17's tests use 6500-6549):
   * ports are tried from a random one on, so concurrent test runs on one
   * machine pick different ports, and a port another server answers on is
   * skipped (start() checks the answering server is this one).
   */
  static async startInRange(lo: number, hi: number, aofDir?: string): Promise<TestRedis> {
    const n = hi - lo + 1;
    const first = Math.floor(Math.random() * n);
    for (let k = 0; k < n; k++) {
      const port = lo + ((first + k) % n);
      if (!(await portFree(port))) continue;
      const r = new TestRedis(port, aofDir);
      try {
        await r.start();
        return r;
      } catch {
        await r.stop();
      }
    }
    throw new Error(`no free port in ${lo}-${hi} for a test redis-server`);
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.aofDir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.aofDir];
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', ...persistence], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      c.on('error', () => {});
      let pid: number;
      try {
        await c.connect();
        pid = Number(/process_id:(\d+)/.exec(await c.info('server'))?.[1]);
        c.disconnect();
      } catch {
        c.disconnect();
        if (this.proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      // Another server on this port (our own failed to bind): never use it.
      if (pid !== this.proc.pid) throw new Error(`port ${this.port} is taken by another redis-server (pid ${pid})`);
      return;
    }
  }

  /** Kills the server (SIGKILL: a crash, not a clean shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
    this.proc = undefined;
  }
}

/** Polls `cond` until true or the timeout (ms) passes. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A private Redis Cluster of `ports.length` masters on loopback (no replicas,
 * no persistence): `redis-server --cluster-enabled yes` per port (cluster bus
 * on port + 10), joined by `redis-cli --cluster create ... --cluster-yes`.
 */
export class TestRedisCluster {
  private procs: ChildProcess[] = [];
  private readonly dir = tempDir('rliv-cluster-');
  constructor(readonly ports: number[]) {}

  static async start(ports: number[]): Promise<TestRedisCluster> {
    const c = new TestRedisCluster(ports);
    await c.start();
    return c;
  }

  /** The seed-node URL `rliv serve --redis URL --redis-cluster` takes. */
  get url(): string {
    return `redis://${this.ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  }

  /** The cluster create command's output. */
  createOutput = '';

  async start(): Promise<void> {
    for (const port of this.ports) {
      this.procs.push(
        spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(port + 10),
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-node-timeout',
            '3000',
            '--dir',
            this.dir,
            '--save',
            '',
            '--appendonly',
            'no',
          ],
          { stdio: 'ignore' },
        ),
      );
    }
    for (const port of this.ports) await waitFor(async () => (await redisCliOut(port, ['ping'])) === 'PONG', 10_000, `cluster node ${port} to start`);
    // A node that exited found its port taken: the PONG came from someone else's server.
    const dead = this.ports.filter((_, i) => this.procs[i]!.exitCode !== null);
    if (dead.length) throw new Error(`redis-server on port(s) ${dead.join(', ')} exited at start: is another server using them?`);
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...this.ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    this.createOutput = create.stdout + create.stderr;
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed (${create.status}):\n${this.createOutput}`);
    for (const port of this.ports) {
      await waitFor(async () => /cluster_state:ok/.test(await redisCliOut(port, ['cluster', 'info'])), 20_000, `cluster_state:ok on node ${port}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    this.procs = [];
  }
}

/** redis-cli -p PORT ARGS... (trimmed stdout; '' when it failed). */
export async function redisCliOut(port: number, args: string[]): Promise<string> {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

/** A pino destination that keeps the service's log lines (parsed JSON) for a test. */
export function captureLog(): { destination: { write(line: string): void }; lines: Array<Record<string, any>>; messages(level?: number): string[] } {
  const lines: Array<Record<string, any>> = [];
  return {
    destination: {
      write: (chunk: string) => {
        for (const l of chunk.split('\n')) if (l.trim()) lines.push(JSON.parse(l));
      },
    },
    lines,
    messages: (level?: number) => lines.filter((l) => level === undefined || l.level === level).map((l) => String(l.msg)),
  };
}
