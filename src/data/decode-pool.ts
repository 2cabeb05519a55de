// Decodes many picture files on worker threads, in order-preserving chunks handed out as workers
// come free (a folder of big photos next to one of thumbnails still balances). One thread, or a
// handful of files, decodes in-process: starting a worker costs more than a few pictures.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { projectRoot } from '../engine/root.js';
import { decodeFile, type Decoded } from './decode-file.js';

/** Files per message: big enough that messaging is noise, small enough to balance and to show progress. */
const CHUNK = 64;
/** Below this many files per thread, workers are not worth starting. */
const MIN_FILES_PER_THREAD = 64;

/**
 * Decodes `paths` (results in the same order); onProgress(done) after every chunk. Worker threads
 * run the compiled dist/src/data/decode-worker.js; without it (tests from src/ before a build)
 * decoding stays in-process.
 */
export async function decodeFiles(paths: string[], threads: number, onProgress?: (done: number) => void): Promise<Decoded[]> {
  const n = Math.max(1, Math.min(threads, Math.floor(paths.length / MIN_FILES_PER_THREAD)));
  const script = workerScript();
  const results: Decoded[] = new Array(paths.length);
  let done = 0;
  if (n <= 1 || !script) {
    for (let i = 0; i < paths.length; i++) {
      results[i] = await decodeFile(paths[i]);
      if (++done % CHUNK === 0 || done === paths.length) onProgress?.(done);
    }
    return results;
  }
  let next = 0;
  const workers = Array.from({ length: n }, () => new Worker(script));
  try {
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      let start = 0;
      const give = () => {
        if (next >= paths.length) { resolve(); return; }
        start = next;
        next = Math.min(paths.length, next + CHUNK);
        w.postMessage({ paths: paths.slice(start, next) });
      };
      w.on('message', (msg: { results: Decoded[] }) => {
        for (let i = 0; i < msg.results.length; i++) results[start + i] = msg.results[i];
        done += msg.results.length;
        onProgress?.(done);
        give();
      });
      w.on('error', reject);
      give();
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}

/** The compiled worker beside this module (dist), or dist's copy when this runs from src/. */
function workerScript(): string | null {
  const here = fileURLToPath(import.meta.url);
  const path = here.endsWith('.ts') ? join(projectRoot(), 'dist', 'src', 'data', 'decode-worker.js')
    : here.replace(/decode-pool\.js$/, 'decode-worker.js');
  return existsSync(path) ? path : null;
}
