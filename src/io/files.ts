// Reading the files a user names: one place that looks at a file before reading it (a regular
// file, within a size limit, with the right first bytes), inflates gzip with a limit taken from a
// promise the file itself makes, and turns fs and zlib errors into UserErrors that name the file
// and say what to do. Gzip is recognized by its magic bytes (1f 8b, RFC 1952), not by the file
// name, so raw and compressed files both work.
import { closeSync, fstatSync, openSync, readSync, statSync } from '../platform/fs.js';
import { constants as Z, gunzipSync } from '../platform/zlib.js';
import { UserError } from '../errors.js';

/** Largest file or decompressed size accepted (2 GiB - 1, also the WASM memory limit). */
export const MAX_INFLATED_BYTES = 2 ** 31 - 1;
export const MAX_FILE_BYTES = MAX_INFLATED_BYTES;

/** What readBounded checks before it reads the whole file. */
export interface ReadLimits {
  /** Larger files are refused from their size alone (default MAX_FILE_BYTES). */
  maxBytes?: number;
  /** Sees the first bytes (up to 64) before the rest is read; throws to refuse the file. */
  head?: (first: Uint8Array) => void;
}

/** Error codes of readBounded's own refusals, next to Node's ENOENT, EISDIR, ... */
export const NOT_REGULAR = 'WASMNIST_NOT_REGULAR';
export const TOO_LARGE = 'WASMNIST_TOO_LARGE';

function refusal(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/**
 * The bytes of a regular file, read only after its type, size and first bytes were looked at: a
 * device (/dev/zero), a pipe or a file over maxBytes is refused before anything is read. Throws
 * Node's fs errors (code ENOENT, ...), NOT_REGULAR / TOO_LARGE errors, or what `head` throws.
 */
export function readBounded(path: string, limits: ReadLimits = {}): Uint8Array {
  const maxBytes = limits.maxBytes ?? MAX_FILE_BYTES;
  // Looked at before it is opened too: opening a named pipe waits for a writer, forever.
  const pre = statSync(path);
  if (!pre.isFile() && !pre.isDirectory()) throw refusal(NOT_REGULAR, 'is not a regular file (a device, pipe or socket)');
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw refusal('EISDIR', 'is a folder');
    if (!st.isFile()) throw refusal(NOT_REGULAR, 'is not a regular file (a device, pipe or socket)');
    if (st.size > maxBytes) throw refusal(TOO_LARGE, `is ${mib(st.size)}, over the ${mib(maxBytes)} limit`);
    const size = st.size;
    // Its own ArrayBuffer (not Node's shared pool), so loaders may keep a view of it.
    const out = new Uint8Array(size);
    const headLen = Math.min(64, size);
    let got = 0;
    while (got < size) {
      const want = got < headLen ? headLen - got : size - got;
      const n = readSync(fd, out, got, want, got);
      if (n === 0) break; // the file shrank while we read it
      got += n;
      if (got === headLen && limits.head) limits.head(out.subarray(0, headLen));
    }
    if (size === 0 && limits.head) limits.head(out);
    return got === size ? out : out.slice(0, got);
  } finally {
    closeSync(fd);
  }
}

const mib = (n: number) => (n >= 2 ** 20 ? `${(n / 2 ** 20).toFixed(0)} MiB` : `${n} bytes`);

/** The bytes of a file the user named; `what` says what it should hold ("IDX images"). */
export function readInputFile(path: string, what: string, limits: ReadLimits = {}): Uint8Array {
  try {
    return readBounded(path, limits);
  } catch (e) {
    throw fsUserError(e, path, what);
  }
}

/** A UserError for a failed read of `path`, or the original error when it is not the user's doing. */
export function fsUserError(e: unknown, path: string, what: string): unknown {
  if (e instanceof UserError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new UserError(`${what} not found: ${path} does not exist; check the path`);
  if (code === 'EISDIR') return new UserError(`${what}: ${path} is a folder, expected a file; give the file's path`);
  if (code === 'ENOTDIR') return new UserError(`${what} not found: a parent of ${path} is not a folder; check the path`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`${what}: no permission to read ${path}; check its permissions`);
  if (code === NOT_REGULAR) return new UserError(`${what}: ${path} ${(e as Error).message}; give a file`);
  if (code === TOO_LARGE || code === 'ERR_FS_FILE_TOO_LARGE') {
    return new UserError(`${what}: ${path} ${code === TOO_LARGE ? (e as Error).message : 'is over 2 GiB'}; too large to load`);
  }
  return e;
}

/** Whether the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The first `n` inflated bytes of a gzip stream (fewer when it holds fewer), inflating only a
 * prefix of the input: at most about 1032 bytes come out of each byte that goes in, so this
 * stays small whatever the stream would inflate to.
 */
export function gunzipHead(bytes: Uint8Array, n: number, path: string): Uint8Array {
  for (let take = 512; ; take *= 4) {
    const part = bytes.subarray(0, take);
    let out: Uint8Array;
    try {
      out = gunzipSync(part, { finishFlush: Z.Z_SYNC_FLUSH });
    } catch (e) {
      throw corruptGzip(e, path);
    }
    if (out.length >= n || part.length === bytes.length) return out.subarray(0, Math.min(n, out.length));
    if (take >= 1 << 20) throw new UserError(`${path}: its first MiB of gzip data inflates to ${out.length} bytes; the file is corrupt`);
  }
}

/**
 * Inflates gzip bytes, refusing (as soon as it happens) a stream that inflates past `limit`:
 * `promise` says where the limit came from ("its IDX header promises 47040016 bytes"). zlib checks
 * the trailer's CRC-32 and length, so damaged data is refused too.
 */
export function gunzipLimited(bytes: Uint8Array, path: string, limit: number, promise: string): Uint8Array {
  try {
    const max = Math.max(1, Math.min(limit, MAX_INFLATED_BYTES));
    // One output chunk as large as the trailer's length (ISIZE, the size mod 2^32) says, when that
    // is within the limit: zlib then fills it in place instead of growing a list of 16 KiB chunks
    // and concatenating them, which doubles the peak memory. A wrong trailer only costs speed
    // (more chunks) or is refused by zlib's own length check; the deflate ratio caps what it can ask.
    // One byte to spare, so the stream's end is met inside the chunk instead of starting another.
    const isize = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true) : 0;
    const chunk = Math.min(max, isize, bytes.length * 1032) + 1;
    const out = gunzipSync(bytes, { maxOutputLength: max, ...(chunk > 1 << 16 ? { chunkSize: chunk } : {}) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new UserError(`${path} inflates to more than ${limit} bytes, but ${promise}; the file is damaged or a gzip bomb: ` +
        'download or copy it again');
    }
    throw corruptGzip(e, path);
  }
}

function corruptGzip(e: unknown, path: string): UserError {
  const why = (e as Error).message === 'incorrect data check' ? 'its CRC-32 check fails' : (e as Error).message;
  return new UserError(`${path} is a truncated or corrupt gzip file (${why}); download or copy it again`);
}

/**
 * The bytes themselves, or their gunzipped content when they are gzip. The limit is the size
 * the gzip trailer states (ISIZE, the size mod 2^32, exact for the files we accept): a stream
 * that inflates past it is refused while inflating. Several gzip streams joined into one file
 * state only the last one's size: those are refused with a hint to decompress them first.
 */
export function maybeGunzip(bytes: Uint8Array, path: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  if (bytes.length < 18) throw new UserError(`${path} is a truncated or corrupt gzip file (only ${bytes.length} bytes); download or copy it again`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isize = dv.getUint32(bytes.length - 4, true);
  return gunzipLimited(bytes, path, isize, `its gzip trailer states ${isize} (if it joins several gzip streams, decompress it first)`);
}

/** readInputFile then maybeGunzip. */
export function readMaybeGzip(path: string, what: string): Uint8Array {
  return maybeGunzip(readInputFile(path, what), path);
}
