// numpy .npz: a zip archive (read and written with fflate) of .npy arrays, one per name, the format
// np.savez / np.savez_compressed write and np.load reads. Spec of .npy:
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html — magic "\x93NUMPY",
// version (1.0: u16 LE header length; 2.0/3.0: u32 LE), an ASCII (3.0: UTF-8) Python dict literal
//   {'descr': '<f4', 'fortran_order': False, 'shape': (10, 784), }
// padded with spaces and '\n' to a multiple of 64 bytes, then the raw array bytes.
// Reading accepts stored and deflated entries (each inflated within its stated size, its CRC-32
// checked), zip64 sizes, Fortran order (transposed to C order)
// and big-endian dtypes (byte-swapped); writing gives v1.0 arrays in C order, little-endian.
import { constants as Z, crc32, inflateRawSync } from '../platform/zlib.js';
import { zipSync, type Zippable } from 'fflate';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { readInputFile } from './files.js';

export type NpyDType = '<f4' | '<f8' | '<i4' | '<i8' | '|u1';
export type NpyData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
/** One numpy array: `data` holds prod(shape) elements in C (row-major) order. */
export interface NpyArray { dtype: NpyDType; shape: number[]; data: NpyData }

const KINDS: Record<string, { dtype: NpyDType; size: number; make: (n: number) => NpyData; ctor: Function }> = {
  f4: { dtype: '<f4', size: 4, make: (n) => new Float32Array(n), ctor: Float32Array },
  f8: { dtype: '<f8', size: 8, make: (n) => new Float64Array(n), ctor: Float64Array },
  i4: { dtype: '<i4', size: 4, make: (n) => new Int32Array(n), ctor: Int32Array },
  i8: { dtype: '<i8', size: 8, make: (n) => new BigInt64Array(n), ctor: BigInt64Array },
  u1: { dtype: '|u1', size: 1, make: (n) => new Uint8Array(n), ctor: Uint8Array },
};
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const MAX_RANK = 32;
/** deflate cannot expand more than about 1032:1; a larger claim is a corrupt or hostile archive. */
const MAX_DEFLATE_RATIO = 1032;
/** Compressed bytes inflated to read a member's npy header (at most about 4 MB come out). */
const NPY_HEAD_INPUT = 4096;

/** The .npy v1.0 bytes of one array. */
export function encodeNpy(arr: NpyArray, name = 'array'): Uint8Array {
  const kind = KINDS[arr.dtype.slice(1)];
  if (!kind || kind.dtype !== arr.dtype) throw new Error(`npy '${name}': unsupported dtype ${arr.dtype}`);
  if (!(arr.data instanceof kind.ctor)) throw new Error(`npy '${name}': dtype ${arr.dtype} needs a ${kind.ctor.name}`);
  const count = arr.shape.reduce((a, d) => a * d, 1);
  if (!arr.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== arr.data.length) {
    throw new Error(`npy '${name}': shape (${arr.shape}) does not match ${arr.data.length} elements`);
  }
  const shape = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let dict = `{'descr': '${arr.dtype}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - 10 - dict.length - 1) + '\n';
  const out = new Uint8Array(total + arr.data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1; out[7] = 0;
  new DataView(out.buffer).setUint16(8, dict.length, true);
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  out.set(new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength), total);
  return out;
}

/** Parse one .npy file's bytes; `what` names it in errors ("w.npz: W1.npy"). */
export function decodeNpy(bytes: Uint8Array, what: string): NpyArray {
  const h = parseNpyHeader(bytes, what);
  const body = bytes.length - h.dataStart;
  if (h.dataBytes !== body) throw npyError(what, `shape (${h.shape}) of '${h.descr}' needs ${h.dataBytes} data bytes but the file holds ${body} (truncated?)`);
  const data = h.kind.make(h.count);
  const raw = new Uint8Array(data.buffer);
  raw.set(bytes.subarray(h.dataStart));
  if (h.bigEndian && h.kind.size > 1) byteSwap(raw, h.kind.size);
  const dims = h.shape;
  return { dtype: h.kind.dtype, shape: dims, data: h.fortran && dims.length > 1 ? fortranToC(data, dims) : data };
}

function npyError(what: string, msg: string): UserError {
  return new UserError(`${what} is not a valid .npy array: ${msg}; re-save it with numpy.savez`);
}

/**
 * The header at the start of .npy bytes (the rest may be absent): dtype, shape, order, and where
 * the data starts and how long it must be. What an .npz member promises before it is inflated.
 */
function parseNpyHeader(bytes: Uint8Array, what: string) {
  const bad = (msg: string) => npyError(what, msg);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw bad('missing the \\x93NUMPY magic');
  const major = bytes[6];
  if (major < 1 || major > 3) throw bad(`unknown format version ${major}.${bytes[7]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : bytes.length >= 12 ? dv.getUint32(8, true) : Infinity;
  const start = major === 1 ? 10 : 12;
  if (start + hlen > bytes.length) throw bad(`header length ${hlen} runs past the end (${bytes.length} bytes)`);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(bytes.subarray(start, start + hlen));
  } catch {
    throw bad('header is not valid text');
  }
  let dict: Record<string, unknown>;
  try {
    dict = parsePyDict(text);
  } catch (e) {
    throw bad(`cannot parse header ${JSON.stringify(text.trim().slice(0, 80))} (${(e as Error).message})`);
  }
  const descr = dict.descr, fortran = dict.fortran_order, shape = dict.shape;
  if (typeof descr !== 'string') throw bad(`unsupported dtype ${JSON.stringify(descr)?.slice(0, 60)} (structured arrays are not supported)`);
  if (typeof fortran !== 'boolean') throw bad("header lacks 'fortran_order'");
  if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`invalid shape ${JSON.stringify(shape)?.slice(0, 60)}`);
  }
  const m = /^([<>|=])([a-z]\d+)$/.exec(descr);
  const kind = m ? KINDS[m[2]] : undefined;
  if (!m || !kind || (kind.size === 1 ? false : m[1] === '|')) {
    throw bad(`unsupported dtype '${descr}' (supported: float32, float64, int32, int64, uint8); convert with .astype(np.float32)`);
  }
  let count = 1;
  for (const d of shape as number[]) count = Math.min(count * d, Number.MAX_SAFE_INTEGER);
  return { descr, kind, shape: shape as number[], fortran, bigEndian: m[1] === '>', count, dataStart: start + hlen,
    dataBytes: count * kind.size };
}

function byteSwap(raw: Uint8Array, size: number): void {
  for (let i = 0; i < raw.length; i += size) {
    for (let a = i, b = i + size - 1; a < b; a++, b--) { const t = raw[a]; raw[a] = raw[b]; raw[b] = t; }
  }
}

/** Same elements, from column-major (first index fastest) to row-major (last index fastest). */
function fortranToC<T extends NpyData>(src: T, shape: number[]): T {
  const k = shape.length;
  const fstride = new Array<number>(k);
  for (let j = 0, s = 1; j < k; j++) { fstride[j] = s; s *= shape[j]; }
  const dst = new (src.constructor as { new(n: number): T })(src.length);
  const idx = new Array<number>(k).fill(0);
  let f = 0; // offset in src of the C-order element i
  for (let i = 0; i < src.length; i++) {
    dst[i] = src[f];
    for (let j = k - 1; j >= 0; j--) { // odometer over the C index, last axis fastest
      idx[j]++; f += fstride[j];
      if (idx[j] < shape[j]) break;
      f -= fstride[j] * shape[j]; idx[j] = 0;
    }
  }
  return dst;
}

/** A Python dict literal as numpy writes it: str keys; str, bool, int and tuple-of-int values. */
function parsePyDict(s: string): Record<string, unknown> {
  let i = 0;
  const ws = () => { while (i < s.length && /\s/.test(s[i])) i++; };
  const expect = (c: string) => { ws(); if (s[i] !== c) throw new Error(`expected '${c}' at ${i}`); i++; };
  const value = (): unknown => {
    ws();
    const c = s[i];
    if (c === "'" || c === '"') {
      const e = s.indexOf(c, i + 1);
      if (e < 0) throw new Error('unterminated string');
      const v = s.slice(i + 1, e); i = e + 1; return v;
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++; const items: unknown[] = [];
      for (;;) {
        ws();
        if (s[i] === close) { i++; return items; }
        items.push(value()); ws();
        if (s[i] === ',') i++; else if (s[i] !== close) throw new Error(`expected ',' or '${close}' at ${i}`);
      }
    }
    const m = /^(True|False|\d+L?)/.exec(s.slice(i, i + 24));
    if (!m) throw new Error(`unexpected '${s.slice(i, i + 10)}' at ${i}`);
    i += m[0].length;
    return m[0] === 'True' ? true : m[0] === 'False' ? false : Number(m[0].replace('L', ''));
  };
  expect('{');
  const out: Record<string, unknown> = {};
  for (;;) {
    ws();
    if (s[i] === '}') { i++; break; }
    const k = value();
    if (typeof k !== 'string') throw new Error('dict key is not a string');
    expect(':');
    out[k] = value();
    ws();
    if (s[i] === ',') i++; else if (s[i] !== '}') throw new Error(`expected ',' or '}' at ${i}`);
  }
  ws();
  if (i !== s.length) throw new Error('text after the dict');
  return out;
}

/** Writes arrays as an .npz (names without .npy), atomically; `compress` deflates like np.savez_compressed. */
export function writeNpz(path: string, arrays: Record<string, NpyArray>, opts: { compress?: boolean } = {}): void {
  writeFileAtomic(path, encodeNpz(arrays, opts));
}

/** The .npz bytes of `arrays` (stored entries like np.savez, or deflated with compress). */
export function encodeNpz(arrays: Record<string, NpyArray>, opts: { compress?: boolean } = {}): Uint8Array {
  const files: Zippable = {};
  for (const [name, arr] of Object.entries(arrays)) files[`${name}.npy`] = encodeNpy(arr, name);
  // Fixed timestamp: the same arrays give the same bytes.
  return zipSync(files, { level: opts.compress ? 6 : 0, mtime: new Date(1980, 0, 1) });
}

/**
 * Reads an .npz: accepts fortran_order True by transposing to C order, big-endian '>f4' etc. by
 * byte-swapping, and both stored and deflated entries. Keys are entry names without '.npy'.
 */
export function readNpz(path: string): Record<string, NpyArray> {
  // A zip starts with a local header (PK 03 04), or is an empty archive (PK 05 06).
  const head = (h: Uint8Array) => {
    if (h.length >= 4 && !(h[0] === 0x50 && h[1] === 0x4b && ((h[2] === 3 && h[3] === 4) || (h[2] === 5 && h[3] === 6)))) {
      throw new UserError(`${path} is not a valid .npz file: it does not start like a zip archive; re-save it with numpy.savez`);
    }
  };
  return decodeNpz(readInputFile(path, 'npz file', { head }), path);
}

/**
 * decodeNpz on bytes; `what` names the file in errors. The zip's central directory is walked
 * here (fflate only writes): each member is inflated with its header's size as the limit, so a
 * member that under-states its size is refused as soon as it passes it, and its CRC-32 is checked.
 */
export function decodeNpz(bytes: Uint8Array, what: string): Record<string, NpyArray> {
  const bad = (msg: string) => new UserError(`${what} is not a valid .npz file: ${msg}; re-save it with numpy.savez`);
  const out: Record<string, NpyArray> = {};
  for (const m of zipMembers(bytes, bad)) {
    if (m.name.endsWith('/')) continue;
    if (!m.name.endsWith('.npy')) throw bad(`entry ${m.name} is not a .npy array`);
    out[m.name.slice(0, -4)] = decodeNpy(inflateMember(bytes, m, bad, what), `${what}: ${m.name}`);
  }
  return out;
}

/** One member as the central directory describes it. */
interface ZipMember { name: string; method: number; crc: number; size: number; originalSize: number; local: number }

/** The bytes of one member, inflated within its stated size and checked against its CRC-32. */
function inflateMember(bytes: Uint8Array, m: ZipMember, bad: (msg: string) => UserError, what: string): Uint8Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = m.local + 30 + dv.getUint16(m.local + 26, true) + dv.getUint16(m.local + 28, true);
  if (start + m.size > bytes.length) throw bad(`entry ${m.name} claims ${m.size} compressed bytes, more than the file holds (truncated?)`);
  const raw = bytes.subarray(start, start + m.size);
  let data: Uint8Array;
  if (m.method === 0) {
    if (m.originalSize !== m.size) throw bad(`stored entry ${m.name} has mismatched sizes`);
    data = raw;
  } else {
    // The npy header inside (its first inflated bytes) promises the member's size: it must agree
    // with the zip's, and it is the limit, so a member cannot grow past what its array needs.
    let head: Uint8Array;
    try {
      head = inflateRawSync(raw.subarray(0, NPY_HEAD_INPUT), { finishFlush: Z.Z_SYNC_FLUSH });
    } catch (e) {
      throw bad(`the zip data of ${m.name} is corrupt (${(e as Error).message})`);
    }
    const h = parseNpyHeader(head, `${what}: ${m.name}`);
    const promised = h.dataStart + h.dataBytes;
    if (promised !== m.originalSize) {
      throw npyError(`${what}: ${m.name}`, `shape (${h.shape}) of '${h.descr}' needs ${h.dataBytes} data bytes (${promised} ` +
        `with its header) but its zip header states ${m.originalSize} (truncated, or a zip header that misstates its size)`);
    }
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, m.originalSize) });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        throw bad(`entry ${m.name} inflates to more than the ${m.originalSize} bytes its zip header states (damaged or hostile)`);
      }
      throw bad(`the zip data of ${m.name} is corrupt (${err.message})`);
    }
    if (data.length !== m.originalSize) throw bad(`entry ${m.name} inflates to ${data.length} bytes but its zip header states ${m.originalSize}`);
  }
  const crc = crc32(data) >>> 0;
  if (crc !== m.crc) throw bad(`entry ${m.name} fails its CRC-32 check (stored ${hex(m.crc)}, computed ${hex(crc)}): the file is damaged`);
  return data;
}

const hex = (v: number) => '0x' + v.toString(16).padStart(8, '0');

/** The members listed in the zip's central directory, each checked to lie inside the file. */
function zipMembers(bytes: Uint8Array, bad: (msg: string) => UserError): ZipMember[] {
  if (bytes.length < 22) throw bad(`only ${bytes.length} bytes, too short for a zip archive`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let e = bytes.length - 22;
  const stop = Math.max(0, bytes.length - 22 - 65535);
  while (e >= stop && dv.getUint32(e, true) !== 0x06054b50) e--;
  if (e < stop) throw bad('no zip end-of-directory record (truncated, or not a zip file)');
  let count = dv.getUint16(e + 10, true);
  let dirSize = dv.getUint32(e + 12, true);
  let dirOff = dv.getUint32(e + 16, true);
  if (e >= 20 && dv.getUint32(e - 20, true) === 0x07064b50) { // zip64 locator
    const z = Number(dv.getBigUint64(e - 12, true));
    if (z + 56 > bytes.length || dv.getUint32(z, true) !== 0x06064b50) throw bad('broken zip64 end record');
    count = Number(dv.getBigUint64(z + 32, true));
    dirSize = Number(dv.getBigUint64(z + 40, true));
    dirOff = Number(dv.getBigUint64(z + 48, true));
  }
  if (dirOff + dirSize > bytes.length || count * 46 > dirSize) throw bad('the zip directory lies outside the file (truncated?)');
  const members: ZipMember[] = [];
  for (let i = 0, o = dirOff; i < count; i++) {
    if (o + 46 > dirOff + dirSize || dv.getUint32(o, true) !== 0x02014b50) throw bad('corrupt zip directory entry');
    const nameLen = dv.getUint16(o + 28, true), extraLen = dv.getUint16(o + 30, true);
    if (o + 46 + nameLen + extraLen > dirOff + dirSize) throw bad('corrupt zip directory entry');
    const name = new TextDecoder().decode(bytes.subarray(o + 46, o + 46 + nameLen));
    const m: ZipMember = { name, method: dv.getUint16(o + 10, true), crc: dv.getUint32(o + 16, true),
      size: dv.getUint32(o + 20, true), originalSize: dv.getUint32(o + 24, true), local: dv.getUint32(o + 42, true) };
    // zip64: the fields set to 0xffffffff are in the 0x0001 extra field, in this order.
    for (let x = o + 46 + nameLen; x + 4 <= o + 46 + nameLen + extraLen;) {
      const id = dv.getUint16(x, true), len = dv.getUint16(x + 2, true);
      if (id === 0x0001) {
        let p = x + 4;
        const next = () => { if (p + 8 > x + 4 + len) throw bad('broken zip64 extra field'); const v = Number(dv.getBigUint64(p, true)); p += 8; return v; };
        if (m.originalSize === 0xffffffff) m.originalSize = next();
        if (m.size === 0xffffffff) m.size = next();
        if (m.local === 0xffffffff) m.local = next();
      }
      x += 4 + len;
    }
    if (m.local + 30 > bytes.length || dv.getUint32(m.local, true) !== 0x04034b50) throw bad('corrupt zip local header');
    if (m.size > bytes.length) throw bad(`entry ${name} claims ${m.size} compressed bytes, more than the file holds (truncated?)`);
    if (m.method !== 0 && m.method !== 8) throw bad(`entry ${name} uses compression method ${m.method}; only stored and deflate are supported`);
    if (m.method === 8 && m.originalSize > m.size * MAX_DEFLATE_RATIO + 1024) throw bad(`entry ${name} claims an impossible size ${m.originalSize}`);
    members.push(m);
    o += 46 + nameLen + extraLen + dv.getUint16(o + 32, true);
  }
  return members;
}
