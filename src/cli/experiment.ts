/**
 * `rliv experiment`: the paper's offline experiment end to end (Tables 2
 * and 3, Fig. 5, sim-to-real, calibration) — see src/experiments/experiment.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PAPER_MODEL_ORDER } from '../agents/registry.js';
import { findKuaiRandDirectory, KuaiRandDirectoryError } from '../data/kuairand-directory.js';
import { LOGS_MAX_ROWS } from '../experiments/experiment-logs.js';
import { runExperiment } from '../experiments/experiment.js';
import { experimentPreset, presetTunedAgentConfigPath, type ExperimentPreset } from '../experiments/experiment-presets.js';
import { checkQueueUrl, QueueError } from '../experiments/job-queue.js';
import { queueJobRunner, type QueueJobRunner } from '../experiments/queue-runner.js';
import { readPerModelConfigFile } from './agent-config-file.js';
import { intFlag, outOption, presetOption, UsageError, type CommandSpec, type OptionValues } from './command.js';
import { checkOutDir, forceOption } from './out-dir.js';
import { progressSink } from './progress-bars.js';

/** `--models LIST`: a comma-separated subset of the paper's models (exact names), or undefined when absent; an unknown name is a UsageError. */
export function modelsFlag(values: OptionValues): string[] | undefined {
  if (typeof values.models !== 'string') return undefined;
  const models = values.models
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = models.filter((m) => !(PAPER_MODEL_ORDER as readonly string[]).includes(m));
  if (unknown.length) throw new UsageError(`unknown model(s) ${unknown.map((m) => JSON.stringify(m)).join(', ')}; known: ${PAPER_MODEL_ORDER.join(', ')}`);
  return models;
}

/** The flags that choose the world and the models of a run, shared by `rliv experiment` and `rliv tune`. */
export const RUN_WORLD_OPTIONS: CommandSpec['options'] = {
  world: {
    type: 'string',
    description: 'world.json written by "rliv generate" (use that exact world), or a JSON file of partial world-config overrides',
    valueName: 'FILE.json',
  },
  users: { type: 'string', description: 'real KuaiRand user_features CSV (the users of the world)', valueName: 'PATH' },
  videos: { type: 'string', description: 'real KuaiRand video_features_basic CSV (the items of the world)', valueName: 'PATH' },
  logs: {
    type: 'string',
    description: 'a KuaiRand-Pure, -1K or -27K directory: run on its real logs, with no world (excludes --world, --users, --videos)',
    valueName: 'DIR',
  },
  'max-rows': {
    type: 'string',
    description: `with --logs: read at most N log rows, the complete histories of a seeded random subset of users (default: the preset's; ${Object.entries(
      LOGS_MAX_ROWS,
    )
      .map(([k, v]) => `${k} ${Number.isFinite(v) ? v : 'all'}`)
      .join(', ')})`,
    valueName: 'N',
  },
  models: { type: 'string', description: `comma-separated subset of the models (default all: ${PAPER_MODEL_ORDER.join(', ')})`, valueName: 'LIST' },
  epochs: { type: 'string', description: "override the preset's training epochs (>= 1)", valueName: 'N' },
  'simulator-pair-history': {
    type: 'string',
    description:
      "where the learned simulator's pair counts f_ua start: lifelong (the preset's default: the pairs' counters when the logs begin, then the logs, as a platform's lifelong f_ua) or logs (at zero on the first logged row, all KuaiRand ships); a world without a warm-up, and --logs, have no counters: logs either way",
    valueName: 'lifelong|logs',
  },
};

/** `--simulator-pair-history` into the preset (shared by `rliv experiment` and `rliv tune`); anything else is a UsageError. */
export function pairHistoryFlag(values: OptionValues, preset: Pick<ExperimentPreset, 'simulatorPairHistory'>): void {
  const v = values['simulator-pair-history'];
  if (v === undefined) return;
  if (v !== 'lifelong' && v !== 'logs') throw new UsageError(`--simulator-pair-history ${String(v)}: choose lifelong or logs`);
  preset.simulatorPairHistory = v;
}

/**
 * `--logs DIR` and `--max-rows N` (shared by `rliv experiment` and `rliv tune`): the directory is checked before any
 * work (every missing file named), and combining it with a world's flags, or --max-rows without it, is a UsageError.
 */
export function logsFlags(values: OptionValues): { logsDir?: string; maxLogRows?: number } {
  const logsDir = typeof values.logs === 'string' ? values.logs : undefined;
  const maxLogRows = intFlag(values, 'max-rows', 10, 2_000_000_000);
  if (logsDir !== undefined) {
    const other = ['world', 'users', 'videos'].filter((k) => typeof values[k] === 'string');
    if (other.length)
      throw new UsageError(
        `--logs reads the catalog from the directory's own tables and has no world; it cannot be combined with ${other.map((k) => `--${k}`).join(', ')}`,
      );
    try {
      findKuaiRandDirectory(logsDir); // before any work: names every missing file
    } catch (err) {
      if (err instanceof KuaiRandDirectoryError) throw new UsageError(err.message);
      throw err;
    }
  } else if (maxLogRows !== undefined) {
    throw new UsageError("--max-rows applies to --logs only (a world's logs are the preset's logDays)");
  }
  return { logsDir, maxLogRows };
}

/**
 * The agent-config file of a run: `--agent-config FILE`, none for
 * `--agent-config untuned`, else the preset's shipped tuned configs (none
 * when the preset has none).
 */
export function experimentAgentConfigPath(flag: unknown, preset: Pick<ExperimentPreset, 'tunedAgentConfig'>): string | undefined {
  if (flag === 'untuned') return undefined;
  if (typeof flag === 'string') return flag;
  return presetTunedAgentConfigPath(preset);
}

export const experimentCommand: CommandSpec = {
  name: 'experiment',
  summary: "the paper's offline experiment: train all ten models over N seeds, write results.json, report.html, report.md",
  description:
    'Generates the world (or loads --users/--videos KuaiRand tables), logs traffic and fits the learned simulator, trains every model\n' +
    '(RankingModel, CQL, DQN, TD3, RLUR, RLIV-UA and its four variants) on seeds --seed .. --seed+N-1, evaluates each in the simulator\n' +
    '(mean of the last 10 evaluation epochs) and in the ground-truth world, and writes to --out: results.json, report.html, report.md,\n' +
    'config.json (the fully resolved config of every model, the environment and the world), curves.csv and metrics.csv\n' +
    '(long format: model,seed,epoch,metric,value), world.json and simulator.bin. A non-empty --out is refused unless --force.\n' +
    'With --logs DIR (a KuaiRand-Pure, -1K or -27K directory: log_standard_*.csv, log_random_*.csv, user_features_*.csv,\n' +
    "video_features_basic_*.csv) there is no world: the catalog comes from the directory's tables, the simulator is fitted on its\n" +
    'real logs (the random log partly held out to validate it), every model is trained and evaluated in the simulator, and the\n' +
    'results and reports have no world columns (no ground truth); gate G1 checks the simulator against the random log, G2 and G3\n' +
    'are not applicable.',
  options: {
    preset: presetOption('quick'),
    seeds: { type: 'string', description: "number of seeds (default: the preset's; smoke 2, quick 5, paper 5)", valueName: 'N' },
    out: outOption('runs/experiment'),
    force: forceOption(),
    ...RUN_WORLD_OPTIONS,
    'agent-config': {
      type: 'string',
      description:
        'JSON object of config overrides per model, by model name, e.g. {"RLIV-UA": {"gamma": 0.95}} (unknown models or keys are errors); default: the preset\'s tuned configs shipped in configs/ (quick: configs/quick/agent-config.json, from rliv tune on the default world); "untuned" for every model\'s own defaults',
      valueName: 'FILE.json',
    },
    workers: { type: 'string', description: 'worker threads for the (model, seed) jobs (default: one per CPU; results do not depend on it)', valueName: 'N' },
    queue: {
      type: 'string',
      description:
        'put the jobs on a BullMQ queue at this Redis server instead, for "rliv worker --queue URL" processes on any machine; finished jobs are kept there and not run again (results do not depend on it)',
      valueName: 'redis://HOST:PORT',
    },
  },
  async run(values, _positionals, ctx) {
    const preset = experimentPreset(String(values.preset ?? 'quick'));
    const n = intFlag(values, 'seeds', 1, 100) ?? preset.seeds;
    const seeds = Array.from({ length: n }, (_, i) => ctx.seed + i);
    const epochs = intFlag(values, 'epochs', 1, 100_000);
    if (epochs !== undefined) preset.train.epochs = epochs;
    pairHistoryFlag(values, preset);
    const models = modelsFlag(values);
    const agentConfigPath = experimentAgentConfigPath(values['agent-config'], preset);
    const agentConfigs =
      agentConfigPath !== undefined
        ? readPerModelConfigFile(
            agentConfigPath,
            models ?? preset.models,
            preset.train.batchSize,
            'models of this experiment',
            preset.train.exploration,
            values['agent-config'] === undefined,
          )
        : undefined;
    if (agentConfigPath !== undefined && values['agent-config'] === undefined)
      ctx.log(`experiment: agent configs tuned for the ${preset.name} preset: ${agentConfigPath} (--agent-config untuned for the models' defaults)`);
    let queueUrl: string | undefined;
    if (typeof values.queue === 'string') {
      try {
        queueUrl = checkQueueUrl(values.queue);
      } catch (err) {
        throw new UsageError((err as QueueError).message);
      }
      if (values.workers !== undefined)
        throw new UsageError(
          '--workers and --queue exclude each other: with --queue the jobs run on "rliv worker" processes (their --concurrency sets the threads)',
        );
    }
    const { logsDir, maxLogRows } = logsFlags(values);
    const out = String(values.out);
    // With --queue, a killed coordinator started again with the same arguments resumes: its --out holds
    // world.json and simulator.bin but no results.json yet (results.json is written last), and is accepted.
    const unfinishedQueueRun = queueUrl !== undefined && !existsSync(join(out, 'results.json'));
    checkOutDir(out, { force: values.force === true || unfinishedQueueRun });
    // Reach Redis before building anything: an unreachable queue is an error at once, not after the world is fitted.
    const runner: QueueJobRunner | undefined = queueUrl ? await queueJobRunner({ url: queueUrl }) : undefined;
    if (runner) ctx.log(`experiment: jobs go on ${runner.description}`);
    ctx.log(
      `experiment: preset ${preset.name}, ${models?.length ?? preset.models.length} models x ${n} seed(s) [${seeds.join(', ')}], ${preset.train.epochs} epochs each${logsDir !== undefined ? `, on the real logs in ${logsDir}` : ''} -> ${out}`,
    );
    const { results, files } = await runExperiment({
      jobRunner: runner,
      preset,
      seeds,
      outDir: out,
      worldSeed: ctx.seed,
      worldPath: typeof values.world === 'string' ? values.world : undefined,
      usersPath: typeof values.users === 'string' ? values.users : undefined,
      videosPath: typeof values.videos === 'string' ? values.videos : undefined,
      logsDir,
      maxLogRows,
      models,
      agentConfigs,
      agentConfigPath,
      workers: intFlag(values, 'workers', 1, 256),
      progress: progressSink(ctx),
    }).finally(() => runner?.close());
    ctx.log(
      `wall time ${results.wallSeconds.toFixed(1)} s (process CPU ${results.machine?.cpuSeconds?.toFixed(1) ?? '?'} s, 1-min load average ${results.machine?.loadAverageEnd.toFixed(1) ?? '?'} on ${results.machine?.cpus ?? '?'} CPUs); wrote ${files.results}, ${files.html}, ${files.markdown}`,
    );
    const headline: Record<string, unknown> = {};
    // Key figures: the Table 2/3 means of every model.
    for (const name of results.modelOrder) {
      const m = results.models[name]!;
      headline[name] = { sessionLength: m.sessionLength.mean, watchTime: m.watchTime.mean, ctr: m.ctr.mean, diversity: m.diversity.mean };
    }
    const queue = runner ? { queue: runner.queueName, ...runner.stats } : {};
    const gates = Object.fromEntries((results.fidelity?.gates ?? []).map((g) => [g.id, g.notApplicable ? 'not applicable' : g.pass ? 'PASS' : 'FAIL']));
    return {
      command: 'experiment',
      ...queue,
      preset: results.preset,
      seeds: results.seeds,
      wallSeconds: Number(results.wallSeconds.toFixed(2)),
      cpuSeconds: Number((results.machine?.cpuSeconds ?? NaN).toFixed(2)),
      files,
      ...(logsDir !== undefined ? { logs: logsDir, groundTruth: false } : {}),
      fidelity: gates,
      means: headline,
    };
  },
};
