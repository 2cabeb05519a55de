// The browser side of the platform adapter (see system.ts): Web Workers from a Blob URL, the
// package's files fetched once up front (provideFiles), navigator.hardwareConcurrency for cores.
const files = new Map<string, Uint8Array<ArrayBuffer>>();

/** Makes package files (fetched by the page) readable by packageFile(); call before the engine starts. */
export function provideFiles(entries: Record<string, Uint8Array<ArrayBuffer>>): void {
  for (const [k, v] of Object.entries(entries)) files.set(k, v);
}

export function cores(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

export function packageFile(rel: string): Uint8Array<ArrayBuffer> | null {
  return files.get(rel) ?? null;
}

export function packagePath(rel: string): string {
  return `/${rel}`;
}

/** A browser sets its engine's flags itself (relaxed SIMD is on in current Chrome). */
export function setV8Flag(_flag: string): void {}

/** The browser collects when it wants. */
export function collectGarbage(): void {}

export interface WorkerHandle { terminate(): void }

/**
 * A Web Worker starts only once the thread that created it returns to its event loop: the pool
 * must not block waiting for it (calls still finish, on the threads that run).
 */
export const WORKERS_START_WHILE_BLOCKED = false;

export function startWorker(body: string, workerData: object, onFailure: (why: string) => void): WorkerHandle {
  const src = `'use strict';\nself.onmessage = (e) => {\nself.onmessage = null;\nconst workerData = e.data;\n${body}\n};\n`;
  const url = URL.createObjectURL(new Blob([src], { type: 'text/javascript' }));
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  w.onerror = (e) => { onFailure(`crashed: ${e.message}`); };
  // The module and the shared memory and control buffer are shared, not copied.
  w.postMessage(workerData);
  return { terminate: () => w.terminate() };
}
