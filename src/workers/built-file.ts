import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Node cannot run a .ts worker, so from src/ (tests) a worker is loaded from the build output
 * (npm test builds first). `relative` is the worker's path under src/, e.g. 'threads/validate-thread.js'.
 */
export function builtWorkerFile(relative: string): string {
  const here = fileURLToPath(import.meta.url);
  const srcRoot = path.resolve(path.dirname(here), '..');
  if (here.endsWith('.js')) return path.join(srcRoot, relative);
  const built = path.join(srcRoot, '..', 'dist', 'src', relative);
  if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first`);
  return built;
}
