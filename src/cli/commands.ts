/**
 * The table of `rliv` subcommands. Adding a command = one file in src/cli/
 * exporting a CommandSpec, plus one line here.
 */
import type { CommandSpec } from './command.js';
import { benchCommand } from './bench.js';
import { trainCommand } from './train.js';
import { evaluateCommand } from './evaluate.js';
import { experimentCommand } from './experiment.js';
import { tuneCommand } from './tune.js';
import { abTestCommand } from './ab-test.js';
import { workerCommand } from './worker.js';
import { reportCommand } from './report.js';
import { exportCommand } from './export.js';
import { serveCommand } from './serve.js';
import { trainOnlineCommand } from './train-online.js';
import { registryCommand } from './registry.js';
import { generateCommand } from './generate.js';
import { fitSimulatorCommand } from './fit-simulator.js';

/** In pipeline order: data -> simulator -> training -> experiments -> serving -> benchmarks. */
export const COMMANDS: readonly CommandSpec[] = [
  generateCommand,
  fitSimulatorCommand,
  trainCommand,
  evaluateCommand,
  experimentCommand,
  tuneCommand,
  workerCommand,
  abTestCommand,
  reportCommand,
  exportCommand,
  serveCommand,
  trainOnlineCommand,
  registryCommand,
  benchCommand,
];
