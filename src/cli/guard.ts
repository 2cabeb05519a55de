// Who may write a run folder. A folder that holds another run's files is refused unless the run
// resumes from its own checkpoint there (--resume) or --force says to write over it; a folder
// another live run is writing (its lock file names a running process) is always refused. The
// lock is a file made with O_EXCL, removed at exit; one left by a killed run (its process is
// gone) is taken over.
import { existsSync, openSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FlagError } from '../errors.js';
import { processAlive, writeUserError } from '../io/atomic.js';
import { readBounded } from '../io/files.js';

/** Files whose presence means a folder holds a run. */
export const RUN_FILES = ['checkpoint.safetensors', 'metrics.json', 'metrics.csv', 'weights.npz'];
export const LOCK_FILE = '.wasmnist.lock';

/**
 * Claims `dir` (which exists) for this process until it exits; throws FlagError (exit 2) when
 * another live run holds it, or when it holds a run that this one does not resume and force is off.
 */
export function claimRunFolder(dir: string, opts: { resume?: string; force?: boolean }): void {
  takeLock(dir);
  const found = RUN_FILES.filter((f) => existsSync(join(dir, f)));
  const resumesHere = opts.resume !== undefined && resolve(dirname(opts.resume)) === resolve(dir);
  if (found.length && !resumesHere && !opts.force) {
    releaseLock(dir);
    const ck = join(dir, 'checkpoint.safetensors');
    throw new FlagError(`${dir} already holds a run (${found.join(', ')}); ` +
      (existsSync(ck) ? `continue it with --resume ${ck}, ` : '') + 'pass --force to write over it, or choose another --out');
  }
}

function takeLock(dir: string): void {
  const lock = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lock, 'wx', 0o644);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw writeUserError(e, lock);
      const pid = Number(readText(lock));
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) {
        throw new FlagError(`${dir} is in use by another training run (process ${pid}); wait for it to finish, or choose another --out`);
      }
      try { unlinkSync(lock); } catch { /* another process took it over first */ }
      continue;
    }
    writeSync(fd, String(process.pid));
    closeSync(fd);
    process.once('exit', () => releaseLock(dir));
    return;
  }
  throw new FlagError(`${dir} is being claimed by another training run; choose another --out`);
}

function releaseLock(dir: string): void {
  const lock = join(dir, LOCK_FILE);
  if (readText(lock) === String(process.pid)) try { unlinkSync(lock); } catch { /* already gone */ }
}

/** A lock file's text (a pid); '' when it is unreadable or not a small regular file. */
function readText(path: string): string {
  try { return Buffer.from(readBounded(path, { maxBytes: 64 })).toString('utf8').trim(); } catch { return ''; }
}
