/**
 * `rliv generate --out DIR [--preset smoke|quick|paper] [--users PATH
 * --videos PATH] [--world FILE.json] [--seed N]`: builds the ground-truth
 * world, calibrates it to KuaiRand-Pure's rates under the logging policy and
 * writes KuaiRand-format logs, the gifts file, world.json and
 * calibration.json (src/environment/log-generation.ts).
 */
import { readFileSync } from 'node:fs';
import { GENERATION_PRESETS, generateDataset } from '../environment/log-generation.js';
import { RATE_KEYS } from '../environment/calibration.js';
import { intFlag, outOption, presetOption, UsageError, type CommandSpec, type Preset } from './command.js';
import { checkOutDir, forceOption } from './out-dir.js';

export const generateCommand: CommandSpec = {
  name: 'generate',
  summary: 'build and calibrate the ground-truth world, write KuaiRand-format logs + gifts + world.json + calibration.json',
  description: "Without --users/--videos the world is synthetic at the preset's scale; with them it uses the real KuaiRand tables' users and/or videos.",
  options: {
    out: outOption('data/generated'),
    force: forceOption(),
    preset: presetOption('quick'),
    users: { type: 'string', description: 'real KuaiRand user_features_*.csv (its users instead of synthetic ones)', valueName: 'PATH' },
    videos: { type: 'string', description: 'real KuaiRand video_features_basic_*.csv (its videos, authors, tags, durations)', valueName: 'PATH' },
    world: { type: 'string', description: 'JSON file overriding any world config fields (see src/world/world-config.ts)', valueName: 'FILE.json' },
    days: { type: 'string', description: "override the preset's number of logged days", valueName: 'N' },
    'warm-up-days': {
      type: 'string',
      description: "override the preset's days of traffic before the logs, not written (the users' history; 0 = users start new)",
      valueName: 'N',
    },
    'users-count': { type: 'string', description: "override the preset's number of synthetic users", valueName: 'N' },
    'items-count': { type: 'string', description: "override the preset's number of synthetic items", valueName: 'N' },
    'calibration-user-days': {
      type: 'string',
      description: "user-days each calibration run simulates (more: slower, steadier rare rates) [default: the preset's]",
      valueName: 'N',
    },
    'no-calibrate': { type: 'boolean', description: "keep the config's intercepts (skip the bisection fit)" },
  },
  async run(values, _positionals, ctx) {
    const preset = (values.preset as Preset | undefined) ?? 'quick';
    const scale = { ...GENERATION_PRESETS[preset] };
    const days = intFlag(values, 'days', 1, 3650);
    if (days !== undefined) scale.days = days;
    const warmUpDays = intFlag(values, 'warm-up-days', 0, 3650);
    if (warmUpDays !== undefined) scale.warmUpDays = warmUpDays;
    const users = intFlag(values, 'users-count', 1, 10_000_000);
    if (users !== undefined) scale.numUsers = users;
    const items = intFlag(values, 'items-count', 1, 100_000_000);
    if (items !== undefined) scale.numItems = items;
    const userDays = intFlag(values, 'calibration-user-days', 1, 100_000_000);
    if (userDays !== undefined) scale.calibrationUserDays = userDays;
    let worldOverride: unknown;
    if (typeof values.world === 'string') {
      try {
        worldOverride = JSON.parse(readFileSync(values.world, 'utf8'));
      } catch (err) {
        throw new UsageError(`--world ${values.world}: ${(err as Error).message}`);
      }
    }
    checkOutDir(String(values.out), { force: values.force === true });
    const started = performance.now();
    const result = await generateDataset({
      outDir: values.out as string,
      scale,
      usersPath: values.users as string | undefined,
      videosPath: values.videos as string | undefined,
      worldOverride,
      seed: ctx.seed,
      skipCalibration: values['no-calibrate'] === true,
      log: (line) => ctx.log(line),
    });
    if (!result.withinTolerance) {
      const sample =
        result.calibrationUsers > 0 && result.calibrationUsers < result.users
          ? `; the intercepts were fitted on ${result.calibrationUsers} of the ${result.users} users, and a larger --calibration-user-days (now ${scale.calibrationUserDays}) measures the rare rates more precisely`
          : '';
      ctx.log(`warning: some generated rates are outside ±20 % of KuaiRand-Pure's (see calibration.json)${sample}`);
    }
    const rates: Record<string, number> = {};
    for (const k of RATE_KEYS) rates[k] = Number(result.rates[k].toPrecision(4));
    return {
      command: 'generate',
      preset,
      files: result.files,
      rows: result.rows,
      randomRows: result.randomRows,
      giftRows: result.giftRows,
      sessions: result.sessions,
      users: result.users,
      items: result.items,
      authors: result.authors,
      rates,
      isRand: Number(result.rates.is_rand.toPrecision(3)),
      withinTolerance: result.withinTolerance,
      calibrationEvaluations: result.calibrationEvaluations,
      calibrationUsers: result.calibrationUsers,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    };
  },
};
