// safetensors: the checkpoint container (spec: https://github.com/huggingface/safetensors ,
// "Format"). Layout: an 8-byte little-endian u64 N, N bytes of UTF-8 JSON header
//   {"__metadata__": {string: string}, name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...}
// padded with spaces to 8-byte alignment, then the raw little-endian tensor bytes; offsets are
// relative to the end of the header, and the tensors tile that byte buffer with no holes or overlaps.
// Readable from Python (`safetensors.numpy.load_file`) and most ML tools. Assumes a little-endian
// host (every platform Node runs on in practice).
import { readInputFile } from './files.js';
import { writeFileAtomic } from './atomic.js';
import { UserError } from '../errors.js';

export type DType = 'F32' | 'F64' | 'I32' | 'U32' | 'U8' | 'I64';
export type TensorData = Float32Array | Float64Array | Int32Array | Uint32Array | Uint8Array | BigInt64Array;
/** A named array: `data` holds prod(shape) elements row-major. */
export interface Tensor { dtype: DType; shape: number[]; data: TensorData }

const DTYPES: Record<DType, { size: number; make: (n: number) => TensorData; ctor: Function }> = {
  F64: { size: 8, make: (n) => new Float64Array(n), ctor: Float64Array },
  I64: { size: 8, make: (n) => new BigInt64Array(n), ctor: BigInt64Array },
  F32: { size: 4, make: (n) => new Float32Array(n), ctor: Float32Array },
  I32: { size: 4, make: (n) => new Int32Array(n), ctor: Int32Array },
  U32: { size: 4, make: (n) => new Uint32Array(n), ctor: Uint32Array },
  U8: { size: 1, make: (n) => new Uint8Array(n), ctor: Uint8Array },
};
/** The spec's 100 MB header limit (the reference implementation rejects larger headers). */
const MAX_HEADER = 100_000_000;
const MAX_RANK = 32;

const isDType = (s: unknown): s is DType => typeof s === 'string' && Object.hasOwn(DTYPES, s);

/** The bytes of a safetensors file holding `tensors` and string `metadata`. */
export function encodeSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string>): Uint8Array {
  // Like the reference writer: widest dtype first, then by name, so every tensor is naturally aligned.
  const names = Object.keys(tensors).sort((a, b) =>
    DTYPES[tensors[b].dtype].size - DTYPES[tensors[a].dtype].size || (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new Error(`safetensors metadata '${k}' must be a string`);
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error("'__metadata__' is reserved in safetensors");
    const t = tensors[name];
    const spec = DTYPES[t.dtype];
    if (!spec) throw new Error(`tensor '${name}': unknown dtype ${t.dtype}`);
    if (!(t.data instanceof spec.ctor)) throw new Error(`tensor '${name}': dtype ${t.dtype} needs a ${spec.ctor.name}, got ${t.data.constructor.name}`);
    const count = t.shape.reduce((a, d) => a * d, 1);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count !== t.data.length) {
      throw new Error(`tensor '${name}': shape [${t.shape}] does not match ${t.data.length} elements`);
    }
    const bytes = count * spec.size;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  let headerBytes = new TextEncoder().encode(json);
  const pad = (8 - (headerBytes.length % 8)) % 8;
  if (pad) headerBytes = new TextEncoder().encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    at += d.byteLength;
  }
  return out;
}

/** The header length from a file's first 9 or more bytes, checked: at most 100 MB, then '{'. */
function decodeSafetensorsHead(bytes: Uint8Array, what: string): number {
  const N = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const bad = (msg: string) => new UserError(`${what} is not a valid safetensors file: ${msg}; re-save it or check the path`);
  if (N > MAX_HEADER) throw bad(`header length ${N} exceeds the 100 MB limit`);
  if (N < 2 || bytes[8] !== 0x7b /* { */) throw bad('header does not start with a JSON object');
  return N;
}

/**
 * `what` names the file in error messages. Validates everything before trusting it: header length
 * within file, JSON parses, offsets in range, ordered, non-overlapping, sizes = prod(shape)*dtype
 * size, no absurd shapes; copies data out into aligned typed arrays.
 */
export function decodeSafetensors(bytes: Uint8Array, what: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  const bad = (msg: string) => new UserError(`${what} is not a valid safetensors file: ${msg}; re-save it or check the path`);
  if (bytes.length < 8) throw bad(`only ${bytes.length} bytes, shorter than the 8-byte header length`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n64 = dv.getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) throw bad(`header length ${n64} exceeds the ${bytes.length - 8} bytes after it (truncated file?)`);
  const N = decodeSafetensorsHead(bytes, what);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + N)));
  } catch (e) {
    throw bad(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad('header is not a JSON object');
  const bufStart = 8 + N;
  const bufLen = bytes.length - bufStart;

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: DType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw bad('__metadata__ is not an object');
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw bad(`__metadata__ value '${k}' is not a string`);
        metadata[k] = s;
      }
      continue;
    }
    const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (t === null || typeof t !== 'object') throw bad(`tensor '${name}' is not an object`);
    if (!isDType(t.dtype)) throw bad(`tensor '${name}' has unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    const shape = t.shape, offs = t.data_offsets;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)?.slice(0, 60)}`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      throw bad(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offs)?.slice(0, 60)}`);
    }
    if (offs[1] > bufLen) throw bad(`tensor '${name}' ends at byte ${offs[1]} but the data holds ${bufLen} bytes (truncated file?)`);
    // The product cannot overflow to a wrong match: each partial product is checked against the buffer.
    let bytesNeeded = DTYPES[t.dtype].size;
    for (const d of shape) bytesNeeded = Math.min(bytesNeeded * d, Number.MAX_SAFE_INTEGER);
    if (bytesNeeded !== offs[1] - offs[0]) {
      throw bad(`tensor '${name}' of shape [${shape}] ${t.dtype} needs ${bytesNeeded} bytes but its offsets span ${offs[1] - offs[0]}`);
    }
    entries.push({ name, dtype: t.dtype, shape: shape as number[], begin: offs[0], end: offs[1] });
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of sorted) {
    if (e.begin < at) throw bad(`tensor '${e.name}' overlaps the tensor before it (offset ${e.begin} < ${at})`);
    if (e.begin > at) throw bad(`${e.begin - at} unused bytes before tensor '${e.name}' (offset ${at})`);
    at = e.end;
  }
  if (at !== bufLen) throw bad(`the tensors cover ${at} of the ${bufLen} data bytes (extra bytes at the end)`);

  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const spec = DTYPES[e.dtype];
    const data = spec.make((e.end - e.begin) / spec.size);
    new Uint8Array(data.buffer).set(bytes.subarray(bufStart + e.begin, bufStart + e.end));
    tensors[e.name] = { dtype: e.dtype, shape: e.shape, data };
  }
  return { tensors, metadata };
}

/** Reads and validates a safetensors file (see decodeSafetensors). */
export function readSafetensors(path: string): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  // The first 9 bytes (header length, '{') decide before a large file that is no safetensors is read.
  const head = (h: Uint8Array) => { if (h.length >= 9) decodeSafetensorsHead(h, path); };
  return decodeSafetensors(readInputFile(path, 'safetensors file', { head }), path);
}

/** Writes a safetensors file atomically (temp file + fsync + rename). */
export function writeSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}
