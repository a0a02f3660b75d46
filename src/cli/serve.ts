/**
 * `rliv serve [--checkpoint FILE] [--host 127.0.0.1] [--port 8080] [--redis URL]
 *  [--models DIR] [--trainer inline|none] [--join-window S] [--duration S]
 *  [--auth-token-file FILE] [--rank-token-file FILE] [--users FILE --videos FILE]`:
 * the online ranking service (docs/design.md §9). With --auth-token-file every
 * write (feedback) needs that bearer token; without it the service should
 * stay on loopback (a warning says so otherwise).
 *
 * Without --checkpoint it serves the registry's latest version, or on an
 * empty registry a fresh RLIV-UA over a synthetic world the size of
 * `rliv train --preset quick`'s (3000 users, 20000 items, seeded by --seed),
 * published as version 1. With --redis the pair counts and the sample
 * stream live in Redis; otherwise in memory. By default an online trainer
 * runs in the same process and publishes new versions that the service
 * hot-reloads; with --trainer none run `rliv train-online --redis URL` next
 * to it instead.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { intFlag, UsageError, type CommandSpec, type OptionValues } from './command.js';
import { startOnlineSystem } from '../serving/online-system.js';
import { dataTablesFlags } from './data-tables-flags.js';
import { AuthTokenError, validateToken, type ServiceAuthOptions } from '../serving/request-guards.js';

/** Reads and checks the token in the file a flag names (undefined when the flag is absent). */
function readTokenFlag(values: OptionValues, flag: string): string | undefined {
  const path = values[flag];
  if (typeof path !== 'string') return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag} ${path}: ${(err as Error).message}`);
  }
  try {
    return validateToken(text.trim(), `--${flag} ${path}`);
  } catch (err) {
    if (err instanceof AuthTokenError) throw new UsageError(err.message);
    throw err;
  }
}

/** True for addresses only this machine can reach. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
import { LOG_LEVELS, type LogLevel } from '../serving/service-log.js';

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'run the HTTP ranking service (rank, feedback, health, metrics) with online training and hot reload',
  description:
    'Routes: POST /v1/rank, POST /v1/feedback, POST /v1/feedback/batch, GET /healthz, GET /metrics (rliv_* series plus process and event-loop metrics).\n' +
    "Logs through Fastify's logger (pino): one JSON object per line on stderr, at --log-level and above.\n" +
    'Stops on SIGINT/SIGTERM (or after --duration seconds) and prints a summary line.',
  options: {
    checkpoint: {
      type: 'string',
      description: 'checkpoint to serve (from "rliv train" or a registry); default: the registry\'s latest or a fresh RLIV-UA',
      valueName: 'FILE',
    },
    host: {
      type: 'string',
      description: 'address to listen on (anything but loopback should come with --auth-token-file)',
      default: '127.0.0.1',
      valueName: 'HOST',
    },
    'auth-token-file': {
      type: 'string',
      description:
        'file holding the bearer token that feedback and every other write must send (Authorization: Bearer ...; at least 32 characters, e.g. openssl rand -hex 32)',
      valueName: 'FILE',
    },
    'rank-token-file': { type: 'string', description: 'file holding a bearer token /v1/rank must send (default: ranking is open)', valueName: 'FILE' },
    port: { type: 'string', description: 'TCP port (0 = any free port)', default: '8080', valueName: 'PORT' },
    redis: {
      type: 'string',
      description:
        'Redis URL for the pair-count store and the sample stream (default: in memory); a cluster: its seed nodes, redis://H1:P1,H2:P2 with --redis-cluster',
      valueName: 'URL',
    },
    'redis-cluster': {
      type: 'boolean',
      description: '--redis is a Redis Cluster (pair counts spread over its masters by user; the stream on one slot)',
      default: false,
    },
    models: {
      type: 'string',
      description: 'model registry directory (versions published by trainers, watched for hot reload)',
      default: 'rliv-models',
      valueName: 'DIR',
    },
    users: {
      type: 'string',
      description: 'KuaiRand user_features_*.csv for models trained on it (a table path recorded in a checkpoint is never read)',
      valueName: 'FILE',
    },
    videos: { type: 'string', description: 'KuaiRand video_features_basic_*.csv for models trained on it', valueName: 'FILE' },
    trainer: {
      type: 'string',
      description: 'online trainer in this process (inline) or none (run "rliv train-online")',
      default: 'inline',
      choices: ['inline', 'none'],
      valueName: 'KIND',
    },
    'join-window': { type: 'string', description: 'seconds feedback may arrive after its impression (the label joiner window)', default: '30', valueName: 'S' },
    'publish-every': { type: 'string', description: 'inline trainer: publish a version after this many new samples', default: '64', valueName: 'N' },
    duration: { type: 'string', description: 'stop after this many seconds (default: run until interrupted)', valueName: 'S' },
    'log-level': {
      type: 'string',
      description:
        'service log (pino JSON lines on stderr): info logs every request, warn only degraded store/stream and refused model versions, error only failed requests',
      default: 'warn',
      choices: LOG_LEVELS,
      valueName: 'LEVEL',
    },
  },
  async run(values, _positionals, ctx) {
    const port = intFlag(values, 'port', 0, 65535) ?? 8080;
    const joinWindowS = Number(values['join-window']);
    if (!(joinWindowS > 0 && joinWindowS <= 86_400))
      throw new UsageError(`--join-window must be a number of seconds in (0, 86400], got ${JSON.stringify(values['join-window'])}`);
    const publishEvery = intFlag(values, 'publish-every', 1, 1_000_000) ?? 64;
    const duration = values.duration === undefined ? undefined : Number(values.duration);
    if (duration !== undefined && !(duration > 0))
      throw new UsageError(`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`);
    const redisUrl = typeof values.redis === 'string' ? values.redis : undefined;
    if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) throw new UsageError(`--redis must be a redis:// URL, got ${JSON.stringify(redisUrl)}`);
    if (values['redis-cluster'] === true && redisUrl === undefined) throw new UsageError("--redis-cluster needs --redis URL (the cluster's seed nodes)");
    const host = String(values.host);
    const modelsDir = resolve(String(values.models));
    const auth: ServiceAuthOptions = {};
    const writeToken = readTokenFlag(values, 'auth-token-file');
    if (writeToken !== undefined) auth.writeToken = writeToken;
    const rankToken = readTokenFlag(values, 'rank-token-file');
    if (rankToken !== undefined) auth.rankToken = rankToken;
    if (auth.writeToken === undefined && !isLoopback(host)) {
      process.stderr.write(
        `rliv serve: WARNING: listening on ${host} without --auth-token-file: anyone who can reach it can post feedback and change what the model learns\n`,
      );
    }

    ctx.log(`loading the model (registry ${modelsDir}) ...`);
    const system = await startOnlineSystem({
      modelsDir,
      checkpointPath: typeof values.checkpoint === 'string' ? values.checkpoint : undefined,
      redisUrl,
      tables: dataTablesFlags(values),
      redisCluster: values['redis-cluster'] === true,
      seed: ctx.seed,
      inlineTrainer: values.trainer !== 'none',
      trainer: { publishEverySamples: publishEvery, minPublishIntervalMs: 5000 },
      joiner: { windowMs: joinWindowS * 1000 },
      auth,
      log: { level: values['log-level'] as LogLevel },
    });
    const { service } = system;
    ctx.log(`model: ${system.origin}`);
    if (redisUrl) {
      const s = service.store.status();
      ctx.log(
        `redis ${redisUrl}: ${s.healthy ? 'connected' : `not reachable (${s.lastError ?? 'no answer'}); serving degraded with default pair counts, reconnecting in the background`}`,
      );
    }
    const address = await service.app.listen({ host, port });
    ctx.log(`rliv serve listening on ${address}  (model version ${service.holder.current.version}; trainer ${values.trainer}; Ctrl-C to stop)`);
    ctx.log(`try: curl -s ${address}/healthz`);

    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        done();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      if (duration !== undefined) setTimeout(stop, duration * 1000).unref();
    });
    ctx.log('stopping: flushing the joiner and closing connections ...');
    const h = service.holder.current;
    const joiner = { ...service.pipeline.joiner.counters };
    await system.close();
    return {
      command: 'serve',
      address,
      modelsDir,
      modelVersion: h.version,
      reloads: service.holder.reload.reloads,
      store: service.store.kind,
      stream: service.stream.kind,
      joiner,
      trainer: system.trainer ? { ...system.trainer.stats } : null,
    };
  },
};
