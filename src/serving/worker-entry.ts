/**
 * The file a worker thread runs, for worker modules that live next to their
 * caller. Compiled, it is `<name>.js` beside the caller. Run from sources
 * under tsx, a worker does not inherit tsx's loader, so the entry is a small
 * ESM bootstrap that registers tsx before importing `<name>.ts`.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * @param callerUrl the caller's `import.meta.url`.
 * @param name the worker module's file name without extension, e.g. `./trainer-worker`.
 */
export function workerEntry(callerUrl: string, name: string): URL {
  const ts = new URL(`${name}.ts`, callerUrl);
  if (!(fileURLToPath(callerUrl).endsWith('.ts') && existsSync(fileURLToPath(ts)))) return new URL(`${name}.js`, callerUrl);
  const api = import.meta.resolve('tsx/esm/api');
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(ts.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}
