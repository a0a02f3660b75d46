/**
 * Where an experiment's model configs came from, recorded in results.json
 * (`tuning`) and shown in the report's tuning table: every model's defaults,
 * an `--agent-config` file written by hand, or the selection of an
 * `rliv tune` run (its tune-results.json beside the agent-config.json it
 * wrote, whose `selected` is exactly the file's content).
 *
 * The record also says whether the tuning ran on this experiment's users'
 * split: the split seed is the world's seed, so a tuning run with another
 * `--seed` on the same world may have selected on users this experiment
 * holds out (a note says so); a tuning run on another world is a robustness
 * check (its configs used unchanged), not a leak.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';

/** One model's selection by `rliv tune`. */
export interface TunedModelRecord {
  /** Index of the selected candidate (0 = the model's default). */
  selected: number;
  /** Candidates the model had (the tuning budget, the same for every model). */
  candidates: number;
  /** Mean validation figure of the selected candidate and of the default (candidate 0). */
  score: number | null;
  defaultScore: number | null;
  /** The selected --agent-config entry ({} = the default). */
  overrides: Record<string, unknown>;
}

/** results.json `tuning`. */
export interface TuningRecord {
  /** The `--agent-config` file the models ran with (absolute path); null: every model ran with its defaults. */
  agentConfig: string | null;
  /** The `rliv tune` run that wrote that file (absent: the file is not a tuning result). */
  tune?: {
    /** Its tune-results.json. */
    results: string;
    command?: string;
    preset: string;
    /** The validation figure it selected on. */
    metric: string;
    /** Candidates per model. */
    budget: number;
    seeds: number[];
    /** Its users' split (split seed = its world's seed). */
    split: { splitSeed: number; heldOutFraction: number; validationFraction: number };
    /** Whether that split is this experiment's (same seed and shares): then its validation users are none of this experiment's held-out users. */
    sameSplit: boolean;
    wallSeconds: number;
    /** Its data source (world or logs), as its settings record it. */
    dataSource?: string;
    models: Record<string, TunedModelRecord>;
  };
}

const num = z.number().nullable();
const tuneResultsSchema = z.looseObject({
  kind: z.literal('rliv-tune'),
  preset: z.string(),
  metric: z.string(),
  budget: z.number(),
  seeds: z.array(z.number()),
  split: z.looseObject({ splitSeed: z.number(), heldOutFraction: z.number(), validationFraction: z.number() }),
  models: z.record(z.string(), z.looseObject({ candidates: z.array(z.looseObject({ index: z.number(), score: num })), selected: z.number() })),
  selected: z.record(z.string(), z.record(z.string(), z.unknown())),
  settings: z.record(z.string(), z.unknown()).optional(),
  command: z.string().optional(),
  wallSeconds: z.number(),
});

/**
 * The tuning record of a run: `agentConfigPath` and the overrides read from
 * it (undefined: no --agent-config), `split` the experiment's own users'
 * split. A tune-results.json beside the file that does not parse, or whose
 * selection is not the file's content, means the file is not (or no longer)
 * that tuning's result: it is recorded as a plain --agent-config file.
 */
export function tuningRecord(
  agentConfigPath: string | undefined,
  overrides: Record<string, unknown> | undefined,
  split: { splitSeed: number; heldOutFraction: number; validationFraction: number },
): TuningRecord {
  if (agentConfigPath === undefined) return { agentConfig: null };
  const path = resolve(agentConfigPath);
  const record: TuningRecord = { agentConfig: path };
  const resultsPath = join(dirname(path), 'tune-results.json');
  if (!existsSync(resultsPath)) return record;
  let parsed: z.infer<typeof tuneResultsSchema>;
  try {
    const r = tuneResultsSchema.safeParse(JSON.parse(readFileSync(resultsPath, 'utf8')));
    if (!r.success) return record;
    parsed = r.data;
  } catch {
    return record;
  }
  if (!isDeepStrictEqual(parsed.selected, overrides ?? {})) return record;
  const models: Record<string, TunedModelRecord> = {};
  for (const [model, m] of Object.entries(parsed.models)) {
    const chosen = m.candidates.find((c) => c.index === m.selected);
    const base = m.candidates.find((c) => c.index === 0);
    models[model] = {
      selected: m.selected,
      candidates: m.candidates.length,
      score: chosen?.score ?? null,
      defaultScore: base?.score ?? null,
      overrides: parsed.selected[model] ?? {},
    };
  }
  const s = parsed.split;
  return {
    ...record,
    tune: {
      results: resultsPath,
      ...(parsed.command ? { command: parsed.command } : {}),
      preset: parsed.preset,
      metric: parsed.metric,
      budget: parsed.budget,
      seeds: parsed.seeds,
      split: { splitSeed: s.splitSeed, heldOutFraction: s.heldOutFraction, validationFraction: s.validationFraction },
      sameSplit: s.splitSeed === split.splitSeed && s.heldOutFraction === split.heldOutFraction && s.validationFraction === split.validationFraction,
      wallSeconds: parsed.wallSeconds,
      ...(typeof parsed.settings?.dataSource === 'string' ? { dataSource: parsed.settings.dataSource } : {}),
      models,
    },
  };
}
