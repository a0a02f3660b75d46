/**
 * `rliv train-online --redis URL [--models DIR] [--group NAME] [--consumer NAME]
 *  [--steps-per-round N] [--publish-every N] [--versions N] [--duration S]`:
 * an online trainer process (docs/design.md §9). It consumes ASA samples from the
 * Redis sample stream (consumer group: several trainers share the work),
 * trains a copy of the registry's latest model, and publishes versioned,
 * checksummed checkpoints that `rliv serve` hot-reloads. Stream entries are
 * acknowledged only once a published version includes them, so a killed
 * trainer loses nothing: restarted with the same --consumer it gets its
 * unacknowledged entries again, once each, and trains each exactly once
 * (entries its base version already records are acknowledged, not
 * retrained). SIGINT/SIGTERM publish what was trained since the last version.
 */
import { resolve } from 'node:path';
import { intFlag, requireString, UsageError, type CommandSpec } from './command.js';
import { ModelRegistry } from '../serving/model-registry.js';
import { RedisSampleStream } from '../serving/redis-sample-stream.js';
import { OnlineTrainer } from '../serving/online-trainer.js';
import { dataTablesFlags } from './data-tables-flags.js';

export const trainOnlineCommand: CommandSpec = {
  name: 'train-online',
  summary: 'consume ASA samples from the Redis sample stream, train, publish versions for "rliv serve" to hot-reload',
  options: {
    redis: { type: 'string', description: 'Redis URL of the sample stream (the one "rliv serve --redis" writes)', valueName: 'URL' },
    'redis-cluster': { type: 'boolean', description: '--redis is a Redis Cluster (as for "rliv serve --redis-cluster")', default: false },
    models: { type: 'string', description: 'model registry directory shared with "rliv serve"', default: 'rliv-models', valueName: 'DIR' },
    users: { type: 'string', description: 'KuaiRand user_features_*.csv for models trained on it (as given to "rliv serve")', valueName: 'FILE' },
    videos: { type: 'string', description: 'KuaiRand video_features_basic_*.csv for models trained on it', valueName: 'FILE' },
    group: { type: 'string', description: 'consumer group of the trainers', default: 'trainers', valueName: 'NAME' },
    consumer: { type: 'string', description: "this trainer's consumer name (keep it stable across restarts)", default: 'trainer-1', valueName: 'NAME' },
    'steps-per-round': { type: 'string', description: 'gradient steps after each read that brought samples', default: '20', valueName: 'N' },
    'publish-every': { type: 'string', description: 'publish a version after this many new samples', default: '256', valueName: 'N' },
    'publish-interval': { type: 'string', description: 'at least this many seconds between versions', default: '5', valueName: 'S' },
    versions: { type: 'string', description: 'stop after publishing this many versions', valueName: 'N' },
    duration: { type: 'string', description: 'stop after this many seconds', valueName: 'S' },
    'wait-model': { type: 'string', description: 'seconds to wait for a first model version in the registry', default: '60', valueName: 'S' },
  },
  async run(values, _positionals, ctx) {
    const url = requireString(values, 'redis');
    if (!/^rediss?:\/\//.test(url)) throw new UsageError(`--redis must be a redis:// URL, got ${JSON.stringify(url)}`);
    const registry = new ModelRegistry(resolve(String(values.models)), undefined, dataTablesFlags(values));
    const steps = intFlag(values, 'steps-per-round', 1, 1_000_000)!;
    const publishEvery = intFlag(values, 'publish-every', 1, 1_000_000_000)!;
    const interval = Number(values['publish-interval']);
    if (!(interval >= 0)) throw new UsageError(`--publish-interval must be a number of seconds >= 0, got ${JSON.stringify(values['publish-interval'])}`);
    const maxVersions = intFlag(values, 'versions', 1, 1_000_000);
    const duration = values.duration === undefined ? undefined : Number(values.duration);
    if (duration !== undefined && !(duration > 0))
      throw new UsageError(`--duration must be a positive number of seconds, got ${JSON.stringify(values.duration)}`);
    const waitS = Number(values['wait-model']);

    const deadline = Date.now() + (waitS > 0 ? waitS * 1000 : 0);
    let base = await registry.loadLatest();
    while (base === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      base = await registry.loadLatest();
    }
    if (base === null)
      throw new Error(`no model in registry ${registry.dir}: start "rliv serve --models ${registry.dir} --redis ${url}" first (it publishes version 1)`);
    ctx.log(
      `training ${base.agent} from registry version ${base.version} (${registry.dir}); consuming ${url} as ${String(values.group)}/${String(values.consumer)}`,
    );

    const stream = new RedisSampleStream({ url, cluster: values['redis-cluster'] === true });
    await stream.connect();
    const trainer = new OnlineTrainer(base, stream, registry, {
      group: String(values.group),
      consumer: String(values.consumer),
      stepsPerRound: steps,
      publishEverySamples: publishEvery,
      minPublishIntervalMs: interval * 1000,
    });
    const started = Date.now();
    const stopOnSignal = () => trainer.stop();
    process.on('SIGINT', stopOnSignal);
    process.on('SIGTERM', stopOnSignal);
    let timer: NodeJS.Timeout | undefined;
    if (duration !== undefined) timer = setTimeout(() => trainer.stop(), duration * 1000);
    try {
      await trainer.run((p) => {
        ctx.log(
          `published version ${p.version} (${trainer.stats.samplesConsumed} samples, ${trainer.stats.steps} steps, losses ${Object.entries(
            trainer.stats.lastLosses,
          )
            .map(([k, v]) => `${k} ${v.toPrecision(3)}`)
            .join(' ')})`,
        );
        if (maxVersions !== undefined && trainer.stats.published >= maxVersions) trainer.stop();
      });
    } finally {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', stopOnSignal);
      process.off('SIGTERM', stopOnSignal);
      await stream.close();
    }
    return { command: 'train-online', registry: registry.dir, seconds: (Date.now() - started) / 1000, ...trainer.stats };
  },
};
