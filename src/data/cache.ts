// The decoded-set cache: a class folder decoded once is kept as one binary file, found again by a
// key made of the options and every picture's name, size and modification time, so any change to
// the folder (a file added, removed, rewritten) misses and decodes afresh. Layout of a file:
//   "WNDS" | u32 LE header length | header JSON | labels (n u8) | images (n * C*H*W u8)
// Written atomically (a reader never sees half a file); a file that does not parse is a miss.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from '../platform/fs.js';
import { homedir } from 'node:os';
import { join, resolve } from '../platform/path.js';
import { ensureDir, writeFileAtomic } from '../io/atomic.js';

const MAGIC = 'WNDS';
export const CACHE_VERSION = 1;

/** What the cache stores besides the pixels. */
export interface CachedHeader {
  version: number;
  n: number; channels: number; height: number; width: number;
  classNames: string[];
  /** Rows [0, trainRows) come from the training pictures, the rest from the test folder. */
  trainRows: number;
  /** Pictures skipped as unreadable, with why: repeated on every run that uses the cache. */
  skipped: { file: string; error: string }[];
}

export interface CachedSet { header: CachedHeader; labels: Uint8Array; images: Uint8Array }

/** Default cache folder: $XDG_CACHE_HOME/wasmnist or ~/.cache/wasmnist. */
export function defaultCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'wasmnist');
}

/** The cache file of this folder + options + file list: <folder hash>-<content hash>.bin. */
export function cachePath(cacheDir: string, dataDir: string, key: unknown): string {
  const h = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 16);
  return join(cacheDir, `${h(resolve(dataDir))}-${h(JSON.stringify(key))}.bin`);
}

export function readCache(path: string): CachedSet | null {
  let bytes: Buffer;
  try { bytes = readFileSync(path); } catch { return null; }
  try {
    if (bytes.toString('latin1', 0, 4) !== MAGIC) return null;
    const len = bytes.readUInt32LE(4);
    const header = JSON.parse(bytes.toString('utf8', 8, 8 + len)) as CachedHeader;
    const D = header.channels * header.height * header.width;
    const at = 8 + len;
    if (header.version !== CACHE_VERSION || bytes.length !== at + header.n * (1 + D)) return null;
    const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
    return { header, labels: u8.slice(at, at + header.n), images: u8.subarray(at + header.n) };
  } catch {
    return null;
  }
}

/** Writes the set, then removes this folder's older cache files (a changed folder leaves no litter). */
export function writeCache(path: string, set: CachedSet): void {
  try {
    const dir = join(path, '..');
    ensureDir(dir, 'the cache folder', 'pass --cache-dir with a writable folder');
    const head = Buffer.from(JSON.stringify(set.header), 'utf8');
    const pre = Buffer.alloc(8);
    pre.write(MAGIC, 0, 'latin1');
    pre.writeUInt32LE(head.length, 4);
    writeFileAtomic(path, Buffer.concat([pre, head, set.labels, set.images]));
    const name = path.slice(dir.length + 1);
    const folder = name.slice(0, 17);
    for (const f of readdirSync(dir)) if (f.startsWith(folder) && f !== name && f.endsWith('.bin')) rmSync(join(dir, f), { force: true });
  } catch {
    // A cache that cannot be written (read-only home, full disk) only costs the next run a decode.
  }
}
