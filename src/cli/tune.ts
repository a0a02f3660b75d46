/**
 * `rliv tune`: the same budget of candidate configs for every model, trained
 * as the experiment trains them and selected on validation users (never the
 * held-out users); writes DIR/agent-config.json for `rliv experiment
 * --agent-config` — see src/experiments/tune.ts and tuning-grid.ts.
 */
import { experimentPreset } from '../experiments/experiment-presets.js';
import { checkQueueUrl, QueueError } from '../experiments/job-queue.js';
import { queueJobRunner, type QueueJobRunner } from '../experiments/queue-runner.js';
import { REPORT_METRICS, type ReportMetric } from '../experiments/results.js';
import { runTune } from '../experiments/tune.js';
import { MAX_TUNING_BUDGET } from '../experiments/tuning-grid.js';
import { intFlag, outOption, presetOption, UsageError, type CommandSpec } from './command.js';
import { checkOutDir, forceOption } from './out-dir.js';
import { logsFlags, modelsFlag, pairHistoryFlag, RUN_WORLD_OPTIONS } from './experiment.js';
import { progressSink } from './progress-bars.js';

export const tuneCommand: CommandSpec = {
  name: 'tune',
  summary: 'tune every model with the same budget of configs, selected on validation users; writes agent-config.json for rliv experiment --agent-config',
  description:
    "Builds the experiment's world and learned simulator (same preset, same --seed; with --logs DIR the simulator fitted on the real\n" +
    'KuaiRand logs, as rliv experiment --logs fits it: tuning runs in the simulator only, so it needs no world), then for each model trains --budget candidate configs\n' +
    '(config 0 = its default, the rest drawn from its grid in src/experiments/tuning-grid.ts: learning rates, gamma or the target rule,\n' +
    "exploration, the Huber delta of Huber critics) on --seeds seeds with the experiment's schedule, evaluating every epoch on VALIDATION\n" +
    'users (never trained on; the held-out users are never run), and keeps the candidate with the best mean validation --metric.\n' +
    'Writes DIR/agent-config.json (the winners), DIR/tune-results.json (every candidate) and DIR/tune-report.md.',
  options: {
    preset: presetOption('quick'),
    budget: { type: 'string', description: `candidate configs per model, the same for every model (1-${MAX_TUNING_BUDGET})`, default: '8', valueName: 'N' },
    seeds: { type: 'string', description: 'tuning seeds per candidate (the validation figure is their mean)', default: '1', valueName: 'N' },
    metric: { type: 'string', description: `validation figure to maximise: ${REPORT_METRICS.join(', ')}`, default: 'watchTime', valueName: 'NAME' },
    out: outOption('runs/tune'),
    force: forceOption(),
    ...RUN_WORLD_OPTIONS,
    workers: { type: 'string', description: 'worker threads (default: one per CPU; results do not depend on it)', valueName: 'N' },
    queue: {
      type: 'string',
      description: 'put the jobs on a BullMQ queue at this Redis server, for "rliv worker --queue URL" processes',
      valueName: 'redis://HOST:PORT',
    },
  },
  async run(values, _positionals, ctx) {
    const preset = experimentPreset(String(values.preset ?? 'quick'));
    const budget = intFlag(values, 'budget', 1, MAX_TUNING_BUDGET) ?? 8;
    const n = intFlag(values, 'seeds', 1, 100) ?? 1;
    const seeds = Array.from({ length: n }, (_, i) => ctx.seed + i);
    const epochs = intFlag(values, 'epochs', 1, 100_000);
    if (epochs !== undefined) preset.train.epochs = epochs;
    pairHistoryFlag(values, preset);
    const metric = String(values.metric ?? 'watchTime');
    if (!(REPORT_METRICS as readonly string[]).includes(metric)) throw new UsageError(`--metric ${metric}: choose one of ${REPORT_METRICS.join(', ')}`);
    const models = modelsFlag(values);
    const { logsDir, maxLogRows } = logsFlags(values);
    let runner: QueueJobRunner | undefined;
    if (typeof values.queue === 'string') {
      let url: string;
      try {
        url = checkQueueUrl(values.queue);
      } catch (err) {
        throw new UsageError((err as QueueError).message);
      }
      if (values.workers !== undefined) throw new UsageError('--workers and --queue exclude each other');
      runner = await queueJobRunner({ url });
    }
    const out = String(values.out);
    checkOutDir(out, { force: values.force === true });
    ctx.log(
      `tune: preset ${preset.name}, ${models?.length ?? preset.models.length} models x ${budget} configs x ${n} seed(s), ${preset.train.epochs} epochs each${logsDir !== undefined ? `, on the real logs in ${logsDir}` : ''} -> ${out}`,
    );
    const { results, files } = await runTune({
      preset,
      seeds,
      budget,
      metric: metric as ReportMetric,
      models,
      outDir: out,
      worldSeed: ctx.seed,
      worldPath: typeof values.world === 'string' ? values.world : undefined,
      usersPath: typeof values.users === 'string' ? values.users : undefined,
      videosPath: typeof values.videos === 'string' ? values.videos : undefined,
      logsDir,
      maxLogRows,
      workers: intFlag(values, 'workers', 1, 256),
      jobRunner: runner,
      progress: progressSink(ctx),
      command: `rliv tune ${process.argv.slice(3).join(' ')}`.trim(),
    }).finally(() => runner?.close());
    ctx.log(
      `tune: wall time ${results.wallSeconds.toFixed(1)} s; wrote ${files.agentConfig} (use: rliv experiment --agent-config ${files.agentConfig}), ${files.results}, ${files.report}`,
    );
    return {
      command: 'tune',
      preset: results.preset,
      metric: results.metric,
      budget: results.budget,
      seeds: results.seeds,
      wallSeconds: Number(results.wallSeconds.toFixed(2)),
      files,
      selected: results.selected,
    };
  },
};
