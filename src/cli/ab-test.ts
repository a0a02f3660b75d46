/**
 * `rliv ab-test`: a simulated online A/B test over W weeks in the
 * ground-truth world (the paper's Tables 4 and 5, Fig. 6) — see
 * src/experiments/ab-test.ts.
 */
import { TOWERS } from '../data/interaction-kinds.js';
import { AB_CONTROL, AB_TREATMENTS, runAbTest } from '../experiments/ab-test.js';
import { experimentPreset } from '../experiments/experiment-presets.js';
import { readPerModelConfigFile } from './agent-config-file.js';
import { intFlag, outOption, presetOption, UsageError, type CommandSpec } from './command.js';
import { checkOutDir, forceOption } from './out-dir.js';
import { progressSink } from './progress-bars.js';

export const abTestCommand: CommandSpec = {
  name: 'ab-test',
  summary: 'simulated online A/B test: RankingModel vs RLIV-UA variants in persistent user buckets over W weeks (Tables 4, 5, Fig. 6)',
  description:
    `Pre-trains ${AB_CONTROL} (control) and ${AB_TREATMENTS.join(', ')} in the ground-truth world, splits users into persistent buckets,\n` +
    'runs W weeks with online learning, and reports relative deltas with 95 % intervals as ab-results.json, ab-report.html and ab-report.md,\n' +
    'beside config.json, curves.csv (each arm per simulated day) and metrics.csv. A non-empty --out is refused unless --force.',
  options: {
    weeks: { type: 'string', description: 'length of the test in weeks', default: '2', valueName: 'W' },
    preset: presetOption('quick'),
    out: outOption('runs/ab-test'),
    force: forceOption(),
    world: { type: 'string', description: 'world.json written by "rliv generate", or a JSON file of partial world-config overrides', valueName: 'FILE.json' },
    'online-steps': { type: 'string', description: 'gradient steps per arm after each simulated day (default: the preset\'s steps per epoch)', valueName: 'N' },
    towers: { type: 'string', description: `towers the RLIV-UA arms rank by, comma-separated from ${TOWERS.join(', ')} (default follow,gift: the paper's revenue test; watchTime: its watch-time test)`, valueName: 'LIST' },
    'agent-config': { type: 'string', description: 'JSON object of config overrides per arm, by arm name, e.g. {"RLIV-UA": {"targetCritics": "mean"}} (unknown arms or keys are errors)', valueName: 'FILE.json' },
  },
  async run(values, _positionals, ctx) {
    const weeks = intFlag(values, 'weeks', 1, 520) ?? 2;
    const preset = experimentPreset(String(values.preset ?? 'quick'));
    const onlineStepsPerDay = intFlag(values, 'online-steps', 0, 1_000_000);
    let scoreWeights: Record<string, number> | undefined;
    if (typeof values.towers === 'string') {
      const towers = values.towers.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = towers.filter((t) => !(TOWERS as readonly string[]).includes(t));
      if (bad.length || towers.length === 0) throw new UsageError(`--towers takes names from ${TOWERS.join(', ')}; got ${JSON.stringify(values.towers)}`);
      scoreWeights = Object.fromEntries(towers.map((t) => [t, 1]));
    }
    const configPath = typeof values['agent-config'] === 'string' ? values['agent-config'] : undefined;
    const agentConfigs = configPath === undefined ? undefined : readPerModelConfigFile(configPath, [AB_CONTROL, ...AB_TREATMENTS], preset.train.batchSize, 'arms of this A/B test');
    const out = String(values.out);
    checkOutDir(out, { force: values.force === true });
    ctx.log(`ab-test: ${weeks} week(s), preset ${preset.name}, control ${AB_CONTROL}, treatments ${AB_TREATMENTS.join(', ')} -> ${out}`);
    const { results, files } = await runAbTest({ weeks, outDir: out, preset, seed: ctx.seed, onlineStepsPerDay, scoreWeights, agentConfigs, worldPath: typeof values.world === 'string' ? values.world : undefined, progress: progressSink(ctx) });
    const deltas: Record<string, Record<string, number>> = {};
    for (const arm of results.arms) {
      if (!arm.delta) continue;
      deltas[arm.model] = Object.fromEntries(Object.entries(arm.delta).map(([k, d]) => [k, Number(d.delta.toFixed(5))]));
    }
    ctx.log(`wall time ${results.wallSeconds.toFixed(1)} s; wrote ${Object.values(files).join(', ')}`);
    return { command: 'ab-test', weeks, wallSeconds: Number(results.wallSeconds.toFixed(2)), files, relativeDeltas: deltas };
  },
};
