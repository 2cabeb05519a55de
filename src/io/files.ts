// Reading the files a user names: one place that turns fs errors and broken gzip streams into
// UserErrors that name the file and say what to do. Gzip is recognized by its magic bytes
// (1f 8b, RFC 1952), not by the file name, so raw and compressed files both work.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { UserError } from '../errors.js';

/** Largest decompressed size accepted (2 GiB - 1, also the WASM memory limit): stops gzip bombs. */
export const MAX_INFLATED_BYTES = 2 ** 31 - 1;

/** The bytes of a file the user named; `what` says what it should hold ("IDX images"). */
export function readInputFile(path: string, what: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw fsUserError(e, path, what);
  }
}

/** A UserError for a failed read of `path`, or the original error when it is not the user's doing. */
export function fsUserError(e: unknown, path: string, what: string): unknown {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return new UserError(`${what} not found: ${path} does not exist; check the path`);
  if (code === 'EISDIR') return new UserError(`${what}: ${path} is a folder, expected a file; give the file's path`);
  if (code === 'ENOTDIR') return new UserError(`${what} not found: a parent of ${path} is not a folder; check the path`);
  if (code === 'EACCES' || code === 'EPERM') return new UserError(`${what}: no permission to read ${path}; check its permissions`);
  if (code === 'ERR_FS_FILE_TOO_LARGE') return new UserError(`${what}: ${path} is too large to read (over 2 GiB)`);
  return e;
}

/** Whether the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** The bytes themselves, or their gunzipped content when they are gzip; corrupt streams are UserErrors. */
export function maybeGunzip(bytes: Uint8Array, path: string): Uint8Array {
  if (!isGzip(bytes)) return bytes;
  try {
    return gunzipSync(bytes, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw new UserError(`${path} decompresses to more than ${MAX_INFLATED_BYTES} bytes; too large to load`);
    }
    throw new UserError(`${path} is a truncated or corrupt gzip file (${err.message}); download or copy it again`);
  }
}

/** readInputFile then maybeGunzip. */
export function readMaybeGzip(path: string, what: string): Uint8Array {
  return maybeGunzip(readInputFile(path, what), path);
}
