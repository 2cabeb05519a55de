// The zlib calls the readers make, on fflate in a page. Node's options (output limits, sync flush
// for a header-only read) are accepted; fflate inflates what it is given, which is the page's own
// bundled data or a file the user picked.
import { gunzipSync as gunzip, inflateSync as inflateRaw } from 'fflate';

export const constants = { Z_SYNC_FLUSH: 2 } as const;
interface Opts { maxOutputLength?: number; finishFlush?: number }

/** Inflates whole members; a truncated input (a header-only read) yields what inflates of it. */
function whole(f: (b: Uint8Array) => Uint8Array, bytes: Uint8Array, o: Opts): Uint8Array {
  const out = f(bytes);
  if (o.maxOutputLength !== undefined && out.length > o.maxOutputLength) {
    throw Object.assign(new RangeError('Cannot create a Buffer larger than the limit'), { code: 'ERR_BUFFER_TOO_LARGE' });
  }
  return out;
}
export const gunzipSync = (bytes: Uint8Array, o: Opts = {}): Uint8Array => whole(gunzip, bytes, o);
export const inflateRawSync = (bytes: Uint8Array, o: Opts = {}): Uint8Array => whole(inflateRaw, bytes, o);

/** The zip reader's CRC check: .npz files are not read in a page. */
export function crc32(_data: Uint8Array): number {
  throw new Error('.npz files are not read in a browser page');
}
