#!/usr/bin/env node
/**
 * `rliv <command> [options]`: the only module that reads argv and writes to
 * the terminal. Exit codes: 0 success, 1 runtime failure, 2 usage error.
 */
import { packageVersion } from '../experiments/package-root.js';
import { commandHelp, parseCommandLine } from './args.js';
import { UsageError, type CommandContext } from './command.js';
import { COMMANDS } from './commands.js';

function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 4;
  return [
    'Usage: rliv <command> [options]',
    '',
    'RLIV-UA: lifelong interaction value of user-author pairs, with a KuaiRand-style simulator,',
    "the paper's baselines and experiments, and an online ranking service.",
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run "rliv <command> --help" for the options of a command; "rliv --version" prints the version.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    // No command is a usage error: the help goes where errors go.
    process.stderr.write(topLevelHelp() + '\n');
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topLevelHelp() + '\n');
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`rliv: unknown command "${name}". Known commands: ${COMMANDS.map((c) => c.name).join(', ')}.\nRun "rliv --help" for the list.\n`);
    return 2;
  }
  try {
    const { values, positionals } = parseCommandLine(command, rest);
    if (values.help) {
      process.stdout.write(commandHelp(command) + '\n');
      return 0;
    }
    const seed = Number(values.seed);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new UsageError(`--seed must be an integer in [0, 4294967295], got ${JSON.stringify(values.seed)}`);
    const quiet = values.quiet === true;
    const ctx: CommandContext = {
      quiet,
      seed,
      log: (m) => {
        if (!quiet) process.stderr.write(m + '\n');
      },
    };
    const summary = await command.run(values, positionals, ctx);
    process.stdout.write(JSON.stringify(summary) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`rliv ${command.name}: ${err.message}\nRun "rliv ${command.name} --help" for usage.\n`);
      return 2;
    }
    const e = err as Error;
    process.stderr.write(`rliv ${command.name}: ${e.name && e.name !== 'Error' ? e.name + ': ' : ''}${e.message}\n`);
    if (process.env.RLIV_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
