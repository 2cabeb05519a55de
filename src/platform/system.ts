// The Node side of the platform adapter: what the core modules need from their host that is not
// plain JavaScript (cores, the package's own files, V8 flags, worker threads). The browser build
// swaps this file for system.browser.ts (scripts/build-web.mjs resolves every src/platform/X.js to
// X.browser.ts), so the engine, model, trainer and API import nothing from `node:` themselves.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { projectRoot } from './root.js';

/** The cores this process may run on. */
export function cores(): number {
  return availableParallelism();
}

/** A file shipped with the package (e.g. 'build/kernels.wasm'), or null when it is missing. */
export function packageFile(rel: string): Uint8Array<ArrayBuffer> | null {
  try {
    return new Uint8Array(readFileSync(join(projectRoot(), rel)));
  } catch {
    return null;
  }
}

/** Where a package file would be, for messages. */
export function packagePath(rel: string): string {
  return join(projectRoot(), rel);
}

/** Sets a V8 flag for this process (no-op where the host has none to set). */
export function setV8Flag(flag: string): void {
  setFlagsFromString(flag);
}

/** Runs V8's full GC now (a context created after --expose-gc is set gets `gc`). */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** A started worker running a script body; `workerData` is in scope when the body runs. */
export interface WorkerHandle { terminate(): void }

/** Whether a started worker runs while the thread that started it blocks (in Atomics.wait). */
export const WORKERS_START_WHILE_BLOCKED = true;

/**
 * Starts a worker that runs `body` (plain JavaScript, no imports) with `workerData` in scope.
 * onFailure gets one line when it crashes or exits on its own.
 */
export function startWorker(body: string, workerData: object, onFailure: (why: string) => void): WorkerHandle {
  const w = new Worker(`'use strict';\nconst { workerData } = require('node:worker_threads');\n${body}`, {
    eval: true,
    workerData,
    // Kernels need no heap of their own; keep each worker's JS heap small.
    resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 8 },
  });
  // Workers never keep the process alive: it exits normally without dispose().
  w.unref();
  let stopping = false;
  w.on('error', (e) => onFailure(`crashed: ${e.message}`));
  w.on('exit', (code) => { if (!stopping) onFailure(`exited (code ${code})`); });
  return { terminate: () => { stopping = true; void w.terminate(); } };
}
