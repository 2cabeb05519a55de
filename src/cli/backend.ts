// The backend the commands build from --backend/--threads/--relaxed (the library's Network makes
// its own): one line for a bad name, the core count by default.
import { availableParallelism } from 'node:os';
import { createBackend, BACKEND_NAMES, type BackendName } from '../engine/index.js';
import type { Backend } from '../engine/backend.js';
import { UserError } from '../errors.js';

/** Threads the CLIs use when --threads is not given. */
export function defaultThreads(): number {
  return availableParallelism();
}

/**
 * The backend for --backend/--threads/--relaxed. initialBytes sizes the WASM memory up front (the
 * dataset plus the model) so it rarely has to grow.
 */
export function makeBackend(name: string, opts: { threads?: number; relaxed?: boolean; initialBytes?: number }): Backend {
  if (!BACKEND_NAMES.includes(name as BackendName)) {
    throw new UserError(`unknown backend '${name}'; use one of ${BACKEND_NAMES.join(', ')}`);
  }
  try {
    return createBackend(name as BackendName, opts);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

/** Stops a backend's worker threads, if it has any. */
export function disposeBackend(b: Backend): void {
  (b as { dispose?: () => void }).dispose?.();
}
