/**
 * `rliv ab-test`: the paper's online A/B tests simulated in the ground-truth
 * world (Tables 4 and 5, Fig. 6), with the LIV fused into the production
 * ranking score — see src/experiments/ab-test.ts.
 */
import {
  AB_CONTROL,
  AB_RANKINGS,
  AB_TEST_KINDS,
  AB_TEST_SPECS,
  DEFAULT_BUCKET_SEEDS,
  DEFAULT_PRE_DAYS,
  runAbTest,
  type AbRanking,
  type AbTestKind,
} from '../experiments/ab-test.js';
import { DEFAULT_CLICK_KEEP } from '../agents/score-fusion.js';
import { experimentPreset } from '../experiments/experiment-presets.js';
import { readPerModelConfigFile } from './agent-config-file.js';
import { intFlag, outOption, presetOption, UsageError, type CommandSpec } from './command.js';
import { checkOutDir, forceOption } from './out-dir.js';
import { progressSink } from './progress-bars.js';

/** `--tests` names: the revenue test and the watch-time test. */
const TEST_FLAG_NAMES: Record<string, AbTestKind> = { revenue: 'revenue', 'watch-time': 'watchTime' };

export const abTestCommand: CommandSpec = {
  name: 'ab-test',
  summary:
    "simulated online A/B tests (revenue: Table 4, watch time: Table 5, Fig. 6): RLIV-UA variants' LIV fused into the RankingModel's score, in persistent user buckets over W weeks",
  description:
    `Pre-trains ${AB_CONTROL} (control and production ranking model) and the RLIV-UA variants in the ground-truth world. Each test runs once per bucket seed:\n` +
    "users are split into persistent buckets; a pre-period (every bucket on the production ranking) chooses each fused arm's weight\n" +
    "(the largest w whose top K keeps >= 97 % of the RankingModel's predicted click rate, on the arm's own bucket); then W reported weeks with online learning.\n" +
    `Revenue test: ${AB_TEST_SPECS.revenue.treatments.join(', ')} with follow + gift LIV; watch-time test: RLIV-UA with watch-time LIV.\n` +
    "Writes ab-results.json, ab-report.html and ab-report.md (relative deltas with 95 % intervals over users and over bucket seeds, beside the paper's),\n" +
    'config.json, curves.csv (each arm per reported day) and metrics.csv. A non-empty --out is refused unless --force.',
  options: {
    weeks: { type: 'string', description: 'reported weeks of each test (after the pre-period)', default: '4', valueName: 'W' },
    preset: presetOption('quick'),
    out: outOption('runs/ab-test'),
    force: forceOption(),
    tests: {
      type: 'string',
      description: `which tests to run, comma-separated from ${Object.keys(TEST_FLAG_NAMES).join(', ')}`,
      default: 'revenue,watch-time',
      valueName: 'LIST',
    },
    ranking: {
      type: 'string',
      description:
        "how the treatment arms rank: fused (the paper's deployment: LIV fused into the RankingModel's score), liv-only (by LIV alone), or both (one arm of each)",
      default: 'fused',
      valueName: 'HOW',
      choices: ['fused', 'liv-only', 'both'],
    },
    'bucket-seeds': {
      type: 'string',
      description: 'simulations of each test, each with its own bucket split and environment seed',
      default: String(DEFAULT_BUCKET_SEEDS),
      valueName: 'N',
    },
    'pre-days': {
      type: 'string',
      description: 'days of the pre-period before the reported weeks (the fusion weights are chosen on it)',
      default: String(DEFAULT_PRE_DAYS),
      valueName: 'D',
    },
    'click-keep': {
      type: 'string',
      description: "share of the RankingModel's predicted click rate the chosen fusion weight keeps, in (0, 1]",
      default: String(DEFAULT_CLICK_KEEP),
      valueName: 'X',
    },
    world: { type: 'string', description: 'world.json written by "rliv generate", or a JSON file of partial world-config overrides', valueName: 'FILE.json' },
    'online-steps': {
      type: 'string',
      description: "gradient steps per model after each simulated day (default: the preset's steps per epoch)",
      valueName: 'N',
    },
    'agent-config': {
      type: 'string',
      description: 'JSON object of config overrides per model, by model name, e.g. {"RLIV-UA": {"targetCritics": "mean"}} (unknown models or keys are errors)',
      valueName: 'FILE.json',
    },
  },
  async run(values, _positionals, ctx) {
    const weeks = intFlag(values, 'weeks', 1, 520) ?? 4;
    const preset = experimentPreset(String(values.preset ?? 'quick'));
    const onlineStepsPerDay = intFlag(values, 'online-steps', 0, 1_000_000);
    const bucketSeeds = intFlag(values, 'bucket-seeds', 1, 100) ?? DEFAULT_BUCKET_SEEDS;
    const preDays = intFlag(values, 'pre-days', 0, 3650) ?? DEFAULT_PRE_DAYS;
    const testNames = String(values.tests ?? 'revenue,watch-time')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const bad = testNames.filter((t) => !(t in TEST_FLAG_NAMES));
    if (bad.length || testNames.length === 0 || new Set(testNames).size !== testNames.length)
      throw new UsageError(`--tests takes distinct names from ${Object.keys(TEST_FLAG_NAMES).join(', ')}; got ${JSON.stringify(values.tests)}`);
    const tests = testNames.map((t) => TEST_FLAG_NAMES[t]!);
    const ranking = String(values.ranking ?? 'fused');
    const rankings: AbRanking[] = ranking === 'both' ? [...AB_RANKINGS] : [ranking as AbRanking];
    const clickKeep = Number(values['click-keep'] ?? DEFAULT_CLICK_KEEP);
    if (!(clickKeep > 0 && clickKeep <= 1)) throw new UsageError(`--click-keep must be a number in (0, 1], got ${JSON.stringify(values['click-keep'])}`);
    if (rankings.includes('fused') && preDays < 1)
      throw new UsageError('--pre-days must be >= 1 when arms are fused: the fusion weights are chosen on the pre-period');
    const models = [AB_CONTROL, ...new Set(tests.flatMap((t) => AB_TEST_SPECS[t].treatments))];
    const configPath = typeof values['agent-config'] === 'string' ? values['agent-config'] : undefined;
    const agentConfigs = configPath === undefined ? undefined : readPerModelConfigFile(configPath, models, preset.train.batchSize, 'models of this A/B test');
    const out = String(values.out);
    checkOutDir(out, { force: values.force === true });
    ctx.log(
      `ab-test: ${tests.join(' + ')} test(s), ${rankings.join(' + ')} arms, ${bucketSeeds} bucket seed(s), ${preDays}-day pre-period + ${weeks} week(s), preset ${preset.name} -> ${out}`,
    );
    const { results, files } = await runAbTest({
      weeks,
      outDir: out,
      preset,
      seed: ctx.seed,
      tests,
      rankings,
      bucketSeeds,
      preDays,
      clickKeep,
      onlineStepsPerDay,
      agentConfigs,
      worldPath: typeof values.world === 'string' ? values.world : undefined,
      progress: progressSink(ctx),
    });
    const deltas: Record<string, Record<string, Record<string, number>>> = {};
    const weights: Record<string, Record<string, number[]>> = {};
    for (const run of results.tests) {
      deltas[run.test] = {};
      for (const arm of run.arms) {
        if (!arm.delta) continue;
        deltas[run.test]![arm.label] = Object.fromEntries(AB_TEST_SPECS[run.test].metrics.map((m) => [m, Number(arm.delta![m].delta.toFixed(5))]));
        if (arm.fusionWeights) (weights[run.test] ??= {})[arm.label] = arm.fusionWeights;
      }
    }
    ctx.log(`wall time ${results.wallSeconds.toFixed(1)} s; wrote ${Object.values(files).join(', ')}`);
    return {
      command: 'ab-test',
      weeks,
      preDays,
      bucketSeeds,
      wallSeconds: Number(results.wallSeconds.toFixed(2)),
      files,
      relativeDeltas: deltas,
      fusionWeights: weights,
      tests: AB_TEST_KINDS.filter((k) => tests.includes(k)),
    };
  },
};
