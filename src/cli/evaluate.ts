/**
 * `rliv evaluate --checkpoint FILE [--env world|simulator] [--simulator FILE] [--world FILE] [--preset] [--rounds N] [--out DIR]`:
 * greedy evaluation of a trained model on the held-out users of its run, in
 * a fresh environment (the one it was trained in unless --env/--simulator
 * say otherwise — e.g. train in the learned simulator, evaluate in the
 * ground-truth world). Each round runs one session per held-out user; the
 * figures are the mean over rounds of the metrics of docs/design.md §6.4.
 */
import { join, resolve } from 'node:path';
import { createAgent } from '../agents/registry.js';
import { loadCheckpoint, writeFileAtomic } from '../agents/checkpoint.js';
import { buildTrainingEnvironment, type TrainEnvironmentSpec } from '../experiments/train-environment.js';
import { trainPreset } from '../experiments/train-presets.js';
import { evaluateRanker, evaluationUsers, type TrainingLoopOptions } from '../experiments/training-loop.js';
import { intFlag, presetOption, requireString, UsageError, type CommandSpec } from './command.js';
import { designMetrics, environmentSpec } from './train.js';

export const evaluateCommand: CommandSpec = {
  name: 'evaluate',
  summary: 'evaluate a trained checkpoint greedily on held-out users (session length, watch time, CTR, diversity, ...)',
  options: {
    checkpoint: { type: 'string', description: 'checkpoint written by "rliv train" (DIR/checkpoint.ckpt)', valueName: 'FILE' },
    preset: presetOption('quick'),
    env: {
      type: 'string',
      description: 'environment to evaluate in (default: the one the model was trained in)',
      valueName: 'KIND',
      choices: ['world', 'simulator'],
    },
    simulator: { type: 'string', description: 'learned simulator file (implies --env simulator)', valueName: 'FILE' },
    world: { type: 'string', description: 'world.json written by "rliv generate" (with --env world)', valueName: 'FILE' },
    rounds: { type: 'string', description: "evaluation rounds (default: the preset's last-epochs count, 10)", valueName: 'N' },
    out: { type: 'string', description: 'also write DIR/evaluation.json', valueName: 'DIR' },
  },
  async run(values, _positionals, ctx) {
    const started = performance.now();
    const path = resolve(requireString(values, 'checkpoint'));
    const ckpt = loadCheckpoint(path);
    const options = ckpt.state.options as TrainingLoopOptions | undefined;
    const meta = options?.meta as { env?: TrainEnvironmentSpec; agentSeed?: number } | undefined;
    if (!options || !meta?.env || typeof meta.agentSeed !== 'number' || !ckpt.sections.model) {
      throw new Error(`${path} was not written by "rliv train" (no loop options, environment spec or model section)`);
    }
    const preset = trainPreset(String(values.preset));
    const rounds = intFlag(values, 'rounds', 1, 10_000) ?? preset.lastEpochsForFigure;
    let spec = meta.env;
    if (values.env !== undefined || values.simulator !== undefined || values.world !== undefined) {
      spec = environmentSpec(values, meta.env.scale, meta.env.seed);
      // Evaluating in the world a model was trained on: reuse the run's (already calibrated) world.
      if (spec.kind === 'world' && !spec.world && meta.env.world) spec = { ...spec, world: meta.env.world };
    }
    const built = await buildTrainingEnvironment(spec, ctx.log);
    const agent = createAgent(ckpt.agent, { catalog: built.catalog, seed: meta.agentSeed }, ckpt.agentConfig);
    try {
      agent.load(ckpt.sections.model);
    } catch (err) {
      throw new UsageError(`${path} does not fit ${ckpt.agent} in this environment (${(err as Error).message})`);
    }
    const users = evaluationUsers(built.env.numUsers, options.heldOutFraction, options.evalSessionsPerEpoch, options.seed);
    ctx.log(`${built.description}; evaluating ${ckpt.agent} (epoch ${String(ckpt.state.epoch)}) on ${users.length} held-out users x ${rounds} rounds`);
    const result = evaluateRanker(built.env, agent, users, rounds, designMetrics(built.catalog));
    const summary: Record<string, unknown> = {
      command: 'evaluate',
      agent: ckpt.agent,
      checkpoint: path,
      trainedEpochs: ckpt.state.epoch,
      env: spec.kind,
      heldOutUsers: users.length,
      rounds,
      metrics: result.mean,
      wallSeconds: (performance.now() - started) / 1000,
    };
    if (typeof values.out === 'string') {
      const file = join(resolve(values.out), 'evaluation.json');
      writeFileAtomic(file, new TextEncoder().encode(JSON.stringify({ ...summary, perRound: result.rounds }, null, 1) + '\n'));
      summary.files = { evaluation: file };
    }
    return summary;
  },
};
