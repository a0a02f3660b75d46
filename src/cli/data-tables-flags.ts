/** `--users FILE --videos FILE` of the online commands: the KuaiRand tables the operator lets the service read. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, type OptionValues } from './command.js';
import type { DataTables } from '../serving/model-registry.js';

export function dataTablesFlags(values: OptionValues): DataTables {
  const tables: DataTables = {};
  for (const [flag, key] of [
    ['users', 'usersPath'],
    ['videos', 'videosPath'],
  ] as const) {
    const v = values[flag];
    if (typeof v !== 'string') continue;
    if (!existsSync(v)) throw new UsageError(`--${flag} ${v}: no such file`);
    tables[key] = resolve(v);
  }
  return tables;
}
