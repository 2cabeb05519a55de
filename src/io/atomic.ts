// Crash-safe file replacement: write a temp file in the same folder, fsync it, rename it over the
// target (atomic on POSIX and on NTFS), then fsync the folder so the rename itself is durable.
// A crash at any point leaves either the old file or the new one, never a half-written file.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from '../platform/fs.js';
import { basename, dirname, join, resolve } from '../platform/path.js';
import { UserError } from '../errors.js';

let counter = 0;

/**
 * Write via temp file in the same folder + fsync + rename: a crash mid-write leaves the old file
 * intact. durable: false skips the two fsyncs, for output that can be made again (an annotated
 * picture): a reader still never sees a half-written file, but a power cut may lose the new one.
 */
export function writeFileAtomic(path: string, bytes: Uint8Array | string, opts: { durable?: boolean } = {}): void {
  const durable = opts.durable ?? true;
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
    if (durable) fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    if (fd >= 0) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* never created, or already renamed */ }
    throw writeUserError(e, path);
  }
  if (durable) syncDir(dir);
  removeStaleTemps(dir, basename(path));
}

/**
 * Deletes temp files that a killed writer of the same target left behind (`.<name>.<pid>.<n>.tmp`
 * whose pid is no longer running). Live writers' temp files are left alone.
 */
function removeStaleTemps(dir: string, name: string): void {
  let entries: string[];
  try { entries = readdirSync(dir); } catch { return; }
  const prefix = `.${name}.`;
  for (const e of entries) {
    if (!e.startsWith(prefix) || !e.endsWith('.tmp')) continue;
    const pid = Number(e.slice(prefix.length).split('.')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || processAlive(pid)) continue;
    try { unlinkSync(join(dir, e)); } catch { /* someone else removed it */ }
  }
}

/** Whether a process with this id is running (EPERM: it is, but someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync a folder so a rename inside it survives power loss (not possible on Windows: skipped). */
function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch { /* best effort */ } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** A UserError for a failed write of `path` that names the cause, or the original error. */
export function writeUserError(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  const dir = dirname(path);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new UserError(`cannot write ${path}: folder ${dir} does not exist; create it first`);
  if (code === 'EROFS') return new UserError(`cannot write ${path}: ${dir} is on a read-only file system; choose a folder on a writable disk`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`cannot write ${path}: no permission to write in ${dir}; choose another path`);
  if (code === 'EISDIR') return new UserError(`cannot write ${path}: it is a folder; give a file name`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new UserError(`cannot write ${path}: the disk is full; free some space (the old file, if any, is intact)`);
  return e;
}

/**
 * Creates a folder and its missing parents, one level at a time (like mkdir -p), so a failure
 * names the real cause: Node's recursive mkdir reports a read-only file system as ENOENT (a
 * "missing path"), and loops forever under /proc. `what` names the folder ("the run folder"),
 * `fix` says what to do ("pass --out with a writable folder").
 */
export function ensureDir(dir: string, what: string, fix: string): void {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    let st;
    try { st = statSync(p); } catch { missing.unshift(p); if (dirname(p) === p) break; continue; }
    if (!st.isDirectory()) throw new UserError(`cannot create ${what} ${dir}: ${p} is a file, not a folder; ${fix}`);
    break;
  }
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // made by someone else meanwhile
      throw new UserError(`cannot create ${what} ${dir}: ${dirUserReason(code, p)}; ${fix}`);
    }
  }
}

/** Why mkdir of p failed, in words, from its error code. */
export function dirUserReason(code: string | undefined, p: string): string {
  if (code === 'EROFS') return `${dirname(p)} is on a read-only file system`;
  if (code === 'EACCES' || code === 'EPERM') return `no permission to create ${p}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'the disk is full';
  if (code === 'ENOENT') return `the system refuses to create ${p} (a special file system such as /proc?)`;
  return `mkdir ${p} failed (${code ?? 'unknown error'})`;
}
