/**
 * `rliv train --agent NAME [--variant NAME] --out DIR [--preset] [--env world|simulator]
 *  [--simulator FILE] [--agent-config FILE.json] [--resume] [--epochs N]`: trains one
 * model against the environment with the generic trainer
 * (src/experiments/training-loop.ts). `--agent-config` overrides fields of
 * the agent's config (validated before the world is built; the checkpoint
 * keeps them, so `evaluate` and `--resume` rebuild the same agent).
 *
 * Writes DIR/checkpoint.ckpt after every epoch (atomic, checksummed; the
 * final one is named in the summary as "checkpoint"), DIR/training.json
 * (per-epoch losses and evaluation metrics), DIR/config.json (the resolved
 * agent config, training options and environment) and the long-format
 * DIR/curves.csv and DIR/metrics.csv. A non-empty DIR is refused unless
 * --resume (continue the run there) or --force (start over on top of it). `--resume` continues from
 * DIR/checkpoint.ckpt and ends with exactly the parameters an uninterrupted
 * run would have; the preset, environment and agent config then come from
 * the checkpoint (only --epochs may change).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { EXPLORATION_KINDS, type ExplorationKind } from '../agents/exploration.js';
import { AGENTS, createAgent } from '../agents/registry.js';
import { checkOutDir, forceOption } from './out-dir.js';
import type { Ranker } from '../agents/ranker.js';
import { loadCheckpoint, writeFileAtomic } from '../agents/checkpoint.js';
import { buildTrainingEnvironment, readWorldFile, type DefaultWorldScale, type TrainEnvironmentSpec } from '../experiments/train-environment.js';
import { trainPreset } from '../experiments/train-presets.js';
import { TrainingRun, type EpochReport, type MetricsFunction, type TrainingLoopOptions } from '../experiments/training-loop.js';
import { resolveAgentConfig } from '../agents/registry.js';
import { longCsv, runJson, trainingCurveRows, trainingMetricRows, writeRunFile } from '../experiments/run-files.js';
import { resolvedEnvironmentOptions } from '../environment/environment.js';
import { computeMetrics } from '../environment/metrics.js';
import type { Catalog } from '../world/catalog.js';
import { readOneAgentConfigFile } from './agent-config-file.js';
import { intFlag, outOption, presetOption, requireString, UsageError, type CommandContext, type CommandSpec, type OptionValues } from './command.js';

export const CHECKPOINT_FILE = 'checkpoint.ckpt';
export const TRAINING_FILE = 'training.json';
export const CONFIG_FILE = 'config.json';

/** Metrics of docs/design.md §6.4 over a batch of sessions. */
export function designMetrics(catalog: Catalog): MetricsFunction {
  return (sessions) => ({ ...computeMetrics(sessions, catalog) });
}

/**
 * Resolves `--agent` and `--variant` to a registered model name. A variant is
 * an RLIV-UA configuration named as in the paper: `--variant "w/o SL"` or
 * `--variant "RLIV-UA(w/o SL)"`.
 */
export function resolveAgentName(agent: string, variant: string | undefined): string {
  let name = agent;
  if (variant !== undefined && variant !== '') {
    if (agent !== 'RLIV-UA') throw new UsageError(`--variant selects a variant of RLIV-UA; it cannot be combined with --agent ${agent}`);
    name = variant.startsWith('RLIV-UA') ? variant : `RLIV-UA(${variant})`;
  }
  if (!AGENTS[name]) {
    const known = Object.keys(AGENTS);
    throw new UsageError(`unknown model "${name}"; known models: ${known.length ? known.join(', ') : '(none registered yet)'}`);
  }
  return name;
}

/** Environment spec from the flags (the world seed is the run's seed). */
export function environmentSpec(values: OptionValues, scale: DefaultWorldScale, seed: number): TrainEnvironmentSpec {
  const simulator = typeof values.simulator === 'string' ? values.simulator : undefined;
  const worldFile = typeof values.world === 'string' ? values.world : undefined;
  const kind = (values.env as string | undefined) ?? (simulator ? 'simulator' : 'world');
  if (kind === 'simulator' && !simulator) throw new UsageError('--env simulator needs --simulator FILE (written by "rliv fit-simulator")');
  if (kind === 'world' && simulator) throw new UsageError('--simulator FILE is only used with --env simulator');
  if (kind === 'simulator' && worldFile) throw new UsageError('--world FILE is only used with --env world (a simulator file carries its own world)');
  return {
    kind: kind as 'world' | 'simulator',
    ...(simulator ? { simulatorPath: resolve(simulator) } : {}),
    ...(worldFile ? { world: readWorldFile(worldFile) } : {}),
    scale,
    seed,
  };
}

function formatLosses(report: EpochReport): string {
  const parts = Object.entries(report.train.losses).map(([k, v]) => `${k} ${v.toPrecision(3)}`);
  return parts.length ? parts.join(' ') : '-';
}

/** Progress on stderr: a bar on a terminal, one line per epoch otherwise. */
function progressReporter(ctx: CommandContext, total: number, start: number): { onEpoch: (r: EpochReport) => void; stop: () => void } {
  if (ctx.quiet) return { onEpoch: () => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stderr,
        format: 'epoch {value}/{total} |{bar}| loss {losses} | train len {trainLen} | eval len {evalLen} | ETA {eta_formatted}',
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, start, { losses: '-', trainLen: '-', evalLen: '-' });
    return {
      onEpoch: (r) =>
        bar.update(r.epoch + 1, { losses: formatLosses(r), trainLen: r.trainSessionLength.toFixed(2), evalLen: (r.eval.sessionLength ?? NaN).toFixed(2) }),
      stop: () => bar.stop(),
    };
  }
  return {
    onEpoch: (r) =>
      ctx.log(
        `epoch ${r.epoch + 1}/${total}  loss ${formatLosses(r)}  train len ${r.trainSessionLength.toFixed(2)}  eval len ${(r.eval.sessionLength ?? NaN).toFixed(2)}` +
          `  watch ${(r.eval.watchTime ?? NaN).toFixed(1)}s  ctr ${(r.eval.ctr ?? NaN).toFixed(3)}  (${(r.seconds.collect + r.seconds.train + r.seconds.eval).toFixed(1)}s)`,
      ),
    stop: () => {},
  };
}

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train one model (RLIV-UA, a variant, or a baseline) against the environment, with checkpoints',
  description:
    'Each epoch collects sessions of training users with the current policy plus exploration, trains, and evaluates greedily on held-out users.\n' +
    'Without --simulator the default ground-truth world is built from the seed. A checkpoint is written after every epoch.',
  options: {
    agent: {
      type: 'string',
      description: `model name (${Object.keys(AGENTS)
        .filter((k) => !k.startsWith('RLIV-UA('))
        .join(', ')})`,
      valueName: 'NAME',
    },
    variant: { type: 'string', description: 'RLIV-UA variant by its paper name, e.g. "w/o SL" or "RLIV-UA(w/o MT & SL)"', valueName: 'NAME' },
    out: outOption('runs/train'),
    preset: presetOption('quick'),
    env: { type: 'string', description: 'environment: the ground-truth world or the learned simulator', valueName: 'KIND', choices: ['world', 'simulator'] },
    simulator: { type: 'string', description: 'learned simulator file from "rliv fit-simulator" (implies --env simulator)', valueName: 'FILE' },
    world: {
      type: 'string',
      description: 'world.json written by "rliv generate" (default: build and calibrate the preset\'s default world, as generate does)',
      valueName: 'FILE',
    },
    resume: { type: 'boolean', description: 'continue from DIR/checkpoint.ckpt', default: false },
    force: forceOption(),
    epochs: { type: 'string', description: 'total epochs (overrides the preset; with --resume, runs up to this many)', valueName: 'N' },
    exploration: {
      type: 'string',
      description: 'exploration while collecting training sessions (evaluation is always greedy) [default: epsilon-greedy]',
      valueName: 'KIND',
      choices: EXPLORATION_KINDS,
    },
    'agent-config': {
      type: 'string',
      description:
        'JSON object of overrides of the agent\'s config, e.g. {"gamma": 0.95, "targetCritics": "mean"} (unknown keys are errors; see the agent\'s config file in src/agents/)',
      valueName: 'FILE.json',
    },
  },
  async run(values, _positionals, ctx) {
    const started = performance.now();
    const outDir = resolve(requireString(values, 'out'));
    const checkpointPath = join(outDir, CHECKPOINT_FILE);
    const epochs = intFlag(values, 'epochs', 1, 1_000_000);
    checkOutDir(outDir, { force: values.force === true, resume: { available: true, given: values.resume === true } });
    if (values.resume === true && values.force === true)
      throw new UsageError('--resume continues the run in --out and --force starts a new one over it; pass one of them');

    let run: TrainingRun;
    let catalog: Catalog;
    let built: Awaited<ReturnType<typeof buildTrainingEnvironment>>;
    const agentConfigPath = typeof values['agent-config'] === 'string' ? values['agent-config'] : undefined;
    if (values.resume === true) {
      if (agentConfigPath !== undefined)
        throw new UsageError('--agent-config cannot be combined with --resume: a resumed run keeps the agent config stored in its checkpoint');
      const ckpt = loadCheckpoint(checkpointPath);
      const meta = (ckpt.state.options as TrainingLoopOptions | undefined)?.meta as { env?: TrainEnvironmentSpec; agentSeed?: number } | undefined;
      if (!meta?.env || typeof meta.agentSeed !== 'number')
        throw new Error(`${checkpointPath} was not written by "rliv train" (no environment spec); cannot resume`);
      if (typeof values.agent === 'string' && resolveAgentName(values.agent, values.variant as string | undefined) !== ckpt.agent) {
        throw new UsageError(
          `--agent asks for ${values.agent}${values.variant ? ` --variant ${values.variant}` : ''} but ${checkpointPath} holds ${ckpt.agent}`,
        );
      }
      built = await buildTrainingEnvironment(meta.env, ctx.log);
      catalog = built.catalog;
      ctx.log(`resuming ${ckpt.agent} from ${checkpointPath} (epoch ${String(ckpt.state.epoch)}); replaying the environment's history`);
      const agentSeed = meta.agentSeed;
      run = TrainingRun.resume(ckpt, built.env, (name, config) => createAgent(name, { catalog, seed: agentSeed }, config), designMetrics(catalog), {
        epochs,
        checkpointPath,
      });
    } else {
      const name = resolveAgentName(requireString(values, 'agent'), values.variant as string | undefined);
      const preset = trainPreset(String(values.preset));
      // A config file is checked now, not after minutes of building and calibrating the world.
      const agentConfig = agentConfigPath === undefined ? { batchSize: preset.batchSize } : readOneAgentConfigFile(agentConfigPath, name, preset.batchSize);
      built = await buildTrainingEnvironment(environmentSpec(values, String(values.preset) as DefaultWorldScale, ctx.seed), ctx.log);
      catalog = built.catalog;
      ctx.log(`${built.description}; training ${name} with preset ${String(values.preset)}`);
      const agent: Ranker = createAgent(name, { catalog, seed: ctx.seed }, agentConfig);
      const options: TrainingLoopOptions = {
        agentName: name,
        agentConfig,
        seed: ctx.seed,
        epochs: epochs ?? preset.epochs,
        sessionsPerEpoch: preset.sessionsPerEpoch,
        evalSessionsPerEpoch: preset.evalSessionsPerEpoch,
        stepsPerEpoch: preset.stepsPerEpoch,
        heldOutFraction: preset.heldOutFraction,
        lastEpochsForFigure: preset.lastEpochsForFigure,
        exploration: { ...preset.exploration, kind: (values.exploration as ExplorationKind | undefined) ?? preset.exploration.kind },
        meta: { env: built.spec, agentSeed: ctx.seed, preset: String(values.preset) },
      };
      run = new TrainingRun(built.env, agent, options, designMetrics(catalog), checkpointPath);
    }

    // Created only now: a bad flag or config above leaves no empty output directory behind.
    mkdirSync(outDir, { recursive: true });
    if (run.done) throw new UsageError(`${checkpointPath} already has ${run.epoch} epochs; pass --epochs N larger than that to train further`);
    const progress = progressReporter(ctx, run.options.epochs, run.epoch);
    const trainingFile = join(outDir, TRAINING_FILE);
    const envKind = built.spec.kind;
    const files = {
      checkpoint: checkpointPath,
      training: trainingFile,
      config: join(outDir, CONFIG_FILE),
      curves: join(outDir, 'curves.csv'),
      metrics: join(outDir, 'metrics.csv'),
    };
    const o = run.options;
    writeRunFile(
      files.config,
      runJson({
        kind: 'rliv-train-config',
        version: 1,
        agent: o.agentName,
        agentConfig: resolveAgentConfig(o.agentName, o.agentConfig),
        agentConfigOverrides: o.agentConfig,
        training: {
          seed: o.seed,
          epochs: o.epochs,
          sessionsPerEpoch: o.sessionsPerEpoch,
          evalSessionsPerEpoch: o.evalSessionsPerEpoch,
          stepsPerEpoch: o.stepsPerEpoch,
          heldOutFraction: o.heldOutFraction,
          lastEpochsForFigure: o.lastEpochsForFigure,
          exploration: o.exploration,
          preset: o.meta?.preset,
        },
        environment: {
          kind: envKind,
          ...(built.spec.simulatorPath ? { simulatorPath: built.spec.simulatorPath } : {}),
          options: resolvedEnvironmentOptions(built.env.env.options),
        },
        world: built.spec.world,
      }),
    );
    const writeTraining = (): void => {
      const r = run.result();
      writeFileAtomic(
        trainingFile,
        new TextEncoder().encode(
          JSON.stringify(
            {
              agent: r.agent,
              epochs: r.epochs,
              figure: r.figure,
              lastEpochsForFigure: run.options.lastEpochsForFigure,
              options: run.options,
              reports: r.reports,
            },
            null,
            1,
          ) + '\n',
        ),
      );
    };
    try {
      run.run((report) => {
        progress.onEpoch(report);
        writeTraining();
      });
    } finally {
      progress.stop();
    }
    writeTraining();
    const result = run.result();
    writeRunFile(files.curves, longCsv(trainingCurveRows(result, envKind, o.seed)));
    writeRunFile(files.metrics, longCsv(trainingMetricRows(result, envKind, o.seed)));
    const last = result.reports[result.reports.length - 1]!;
    return {
      command: 'train',
      agent: result.agent,
      checkpoint: checkpointPath,
      epochs: result.epochs,
      metrics: result.figure,
      metricsOver: `mean of the last ${Math.min(run.options.lastEpochsForFigure, result.reports.length)} evaluation epochs`,
      lastEpoch: last.eval,
      curve: { sessionLength: result.reports.map((r) => r.eval.sessionLength) },
      world: { users: catalog.numUsers, authors: catalog.numAuthors, items: catalog.numItems },
      files,
      wallSeconds: (performance.now() - started) / 1000,
    };
  },
};
