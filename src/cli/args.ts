/**
 * Argument parsing for `rliv`: node:util parseArgs for the flags, zod for the
 * `--config FILE` JSON. Precedence: command line > config file > default.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { UsageError, type CommandSpec, type OptionSpec, type OptionValues } from './command.js';

/** Flags every command accepts. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: 'boolean', short: 'h', description: 'show help for this command' },
  seed: { type: 'string', description: 'seed of every random choice in the run', default: '1', valueName: 'N' },
  config: { type: 'string', description: 'JSON file of option values (keys are flag names); flags on the command line win', valueName: 'FILE' },
  quiet: { type: 'boolean', short: 'q', description: 'no progress bars or logs on stderr', default: false },
};

export interface ParsedCommandLine {
  values: OptionValues;
  positionals: string[];
}

function allOptions(command: CommandSpec): Record<string, OptionSpec> {
  return { ...COMMON_OPTIONS, ...command.options };
}

/** Builds the zod schema a config file for `command` must satisfy. */
export function configSchema(command: CommandSpec) {
  const shape: Record<string, z.ZodTypeAny> = {};
  for (const [name, spec] of Object.entries(allOptions(command))) {
    if (name === 'config' || name === 'help') continue;
    if (spec.type === 'boolean') shape[name] = z.boolean().optional();
    else if (spec.choices) shape[name] = z.enum(spec.choices as [string, ...string[]]).optional();
    // Numbers are accepted in JSON and kept as strings like their flag form.
    else shape[name] = z.union([z.string(), z.number().refine(Number.isFinite, 'must be a finite number')]).optional();
  }
  return z.strictObject(shape);
}

function readConfigFile(path: string, command: CommandSpec): OptionValues {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`--config ${path}: cannot read JSON (${(err as Error).message})`);
  }
  const result = configSchema(command).safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UsageError(`--config ${path} is not valid for "rliv ${command.name}": ${issues}`);
  }
  const out: OptionValues = {};
  for (const [k, v] of Object.entries(result.data)) {
    if (v !== undefined) out[k] = typeof v === 'number' ? String(v) : (v as string | boolean);
  }
  return out;
}

/** Parses argv (after the command name) for `command`. Throws UsageError on any unknown or malformed flag. */
export function parseCommandLine(command: CommandSpec, argv: string[]): ParsedCommandLine {
  const options = allOptions(command);
  const parseOptions: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, spec] of Object.entries(options)) {
    parseOptions[name] = spec.short ? { type: spec.type, short: spec.short } : { type: spec.type };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: parseOptions, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const cli = parsed.values as OptionValues;
  const fromConfig = typeof cli.config === 'string' ? readConfigFile(cli.config, command) : {};
  const values: OptionValues = {};
  for (const [name, spec] of Object.entries(options)) {
    const v = cli[name] ?? fromConfig[name] ?? spec.default;
    if (v !== undefined && spec.choices && !spec.choices.includes(String(v))) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}; got ${JSON.stringify(v)}`);
    }
    values[name] = v;
  }
  return { values, positionals: parsed.positionals };
}

/** The `--help` text of one command. */
export function commandHelp(command: CommandSpec): string {
  const lines = [`Usage: rliv ${command.name}${command.positionals ? ' ' + command.positionals : ''} [options]`, '', command.summary];
  if (command.description) lines.push('', command.description);
  lines.push('', 'Options:');
  const options = allOptions(command);
  const left = Object.entries(options).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const value = spec.type === 'string' ? ` ${spec.valueName ?? 'VALUE'}` : '';
    return `  ${short}--${name}${value}`;
  });
  const width = Math.max(...left.map((l) => l.length)) + 2;
  Object.values(options).forEach((spec, i) => {
    let text = spec.description;
    if (spec.choices) text += ` (one of: ${spec.choices.join(', ')})`;
    if (spec.default !== undefined) text += ` [default: ${spec.default}]`;
    lines.push(left[i]!.padEnd(width) + text);
  });
  return lines.join('\n');
}
