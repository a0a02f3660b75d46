/**
 * The shape of one `rliv` subcommand. Commands live one per file in
 * `src/cli/` and are registered in the table of `commands.ts`.
 *
 * Conventions every command follows:
 * - human text and progress go to stderr (through {@link CommandContext.log});
 * - the object a command's `run` returns is printed as the last line on
 *   stdout, as one JSON object (files written, key figures), so scripts can
 *   chain commands;
 * - a command that writes files takes `--out DIR`;
 * - commands that generate, train, evaluate or experiment take
 *   `--preset smoke|quick|paper`.
 */

/** One flag of a command. */
export interface OptionSpec {
  /** `string` flags take a value; `boolean` flags are switches. */
  type: 'string' | 'boolean';
  /** One-line description shown by `--help`. */
  description: string;
  /** Default value, shown by `--help`; applied when neither flag nor config sets it. */
  default?: string | boolean;
  /** Single-letter alias. */
  short?: string;
  /** Placeholder for the value in `--help` (e.g. `DIR`). */
  valueName?: string;
  /** Allowed values for a string flag; anything else is a usage error. */
  choices?: readonly string[];
}

/** Parsed flag values after defaults, config file and command line are merged. */
export type OptionValues = Record<string, string | boolean | undefined>;

/** What a running command may use. Only the CLI layer talks to the terminal. */
export interface CommandContext {
  /** Print a human-readable line to stderr (suppressed by `--quiet`). */
  log(message: string): void;
  /** True when `--quiet` was given: no progress bars, no logs. */
  quiet: boolean;
  /** The seed from `--seed` (default 1). */
  seed: number;
}

export interface CommandSpec {
  /** Name as typed after `rliv`, e.g. `generate` or `bench`. */
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Longer help text shown by `rliv <command> --help`. */
  description?: string;
  /** Positional arguments, for the usage line (e.g. `[numeric|simulator|serve]`). */
  positionals?: string;
  /** Flags specific to this command (the common flags are added by the CLI). */
  options: Record<string, OptionSpec>;
  /**
   * Runs the command. Returns the summary object printed as the final JSON
   * line on stdout. Throw {@link UsageError} for bad arguments.
   */
  run(values: OptionValues, positionals: string[], ctx: CommandContext): Promise<Record<string, unknown>>;
}

/** A mistake in how the command was called: exit code 2 and the command's usage hint. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** `--out DIR`, shared by every command that writes files. */
export function outOption(defaultDir: string): OptionSpec {
  return { type: 'string', description: 'directory to write output files into (created if missing)', default: defaultDir, valueName: 'DIR' };
}

/** The preset names shared by generate/train/evaluate/experiment commands. */
export const PRESETS = ['smoke', 'quick', 'paper'] as const;
export type Preset = (typeof PRESETS)[number];

/** `--preset smoke|quick|paper`: smoke runs in seconds (tests), paper is the paper's scale. */
export function presetOption(defaultPreset: Preset = 'quick'): OptionSpec {
  return {
    type: 'string',
    description: "scale of the run: smoke (seconds, used by tests), quick (minutes), paper (the paper's scale, hours)",
    default: defaultPreset,
    valueName: 'NAME',
    choices: PRESETS,
  };
}

/** Reads a string flag that must be present. */
export function requireString(values: OptionValues, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.length === 0) throw new UsageError(`missing required flag --${name}`);
  return v;
}

/** Reads a string flag as an integer within [min, max]. */
export function intFlag(values: OptionValues, name: string, min = -Infinity, max = Infinity): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
  return n;
}
