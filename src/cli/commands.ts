/**
 * The table of `rliv` subcommands. Adding a command = one file in src/cli/
 * exporting a CommandSpec, plus one line here.
 */
import type { CommandSpec } from './command.js';
import { benchCommand } from './bench.js';

export const COMMANDS: readonly CommandSpec[] = [
  benchCommand,
];
