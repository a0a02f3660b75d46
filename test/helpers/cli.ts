/**
 * Runs the `rliv` CLI as a child process, from the compiled dist/ when the
 * tests are compiled, or from src/ through tsx when tests run as .ts.
 */
import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const runningTs = import.meta.url.endsWith('.ts');
/** Repository root (this file is test/helpers/cli.ts or dist/test/helpers/cli.js). */
export const REPO_ROOT = runningTs ? resolve(here, '../..') : resolve(here, '../../..');
const entry = runningTs ? resolve(REPO_ROOT, 'src/cli/main.ts') : resolve(REPO_ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The final stdout line parsed as JSON (undefined when absent or not JSON). */
  summary: Record<string, any> | undefined;
}

export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const nodeArgs = runningTs ? ['--import', 'tsx', entry, ...args] : [entry, ...args];
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: options.cwd ?? REPO_ROOT, env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = stdout.trim().split('\n');
      let summary: Record<string, any> | undefined;
      try {
        summary = JSON.parse(lines[lines.length - 1] ?? '');
      } catch {
        summary = undefined;
      }
      resolvePromise({ code: code ?? -1, stdout, stderr, summary });
    });
  });
}
