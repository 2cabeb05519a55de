// Seeded mutators for the loader fuzz tests: byte-level damage (bit flips, random bytes,
// truncation, extension, splices) and header-field damage (a named field set to 0, to the largest
// value, to a negative value, to a random one), plus a format's own structure-aware mutation
// (`structural`, e.g. a JSON value in a safetensors header) that re-frames the file so the damage
// reaches the checks past the framing. Every draw comes from src/util/rng.ts: case i of a format
// is reproduced alone from its seed (see caseSeed).
import { Rng } from '../../src/util/rng.js';

/** A fixed-size integer in a valid file that a loader trusts (a size, an offset, a count). */
export interface Field {
  name: string;
  offset: number;
  size: 1 | 2 | 4 | 8;
  /** Little-endian (else big-endian). */
  le: boolean;
}

/** A valid file to mutate, with the header fields worth aiming at. */
export interface Seed {
  name: string;
  bytes: Uint8Array;
  fields: Field[];
  /** Format-aware mutation (re-encodes the file around a damaged value); kind names it in the tally. */
  structural?: (rng: Rng) => { kind: string; bytes: Uint8Array };
  /** Repairs checksums after a field mutation (PNG CRCs) so the damage is not caught by the CRC alone. */
  fixup?: (bytes: Uint8Array) => Uint8Array;
}

export interface Mutation {
  /** What was done, for the tally and for failure reports ("field-huge:IHDR.width"). */
  kind: string;
  bytes: Uint8Array;
}

/** Seed of case `i` of a run: the same (base, format, i) always makes the same case. */
export function caseSeed(base: number, format: string, i: number): number {
  let h = (base ^ 0x811c9dc5) >>> 0;
  for (const ch of format) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return (Math.imul(h ^ i, 0x9e3779b1) + i) >>> 0;
}

/** The values a "huge", "negative" or "zero" field mutation writes, per field size. */
function fieldValue(kind: 'zero' | 'huge' | 'neg' | 'rand' | 'off1', size: number, old: bigint, rng: Rng): bigint {
  const bits = BigInt(size * 8);
  const max = (1n << bits) - 1n;
  switch (kind) {
    case 'zero': return 0n;
    // The largest unsigned value, or the largest signed one, or a "plausible but far too big" one.
    case 'huge': return [max, max >> 1n, size >= 4 ? 0x10000000n : max - 1n][rng.int(3)];
    // A negative number in two's complement: -1 or the most negative.
    case 'neg': return rng.int(2) === 0 ? max : 1n << (bits - 1n);
    case 'off1': return (old + (rng.int(2) ? 1n : max)) & max; // +-1: off-by-one sizes
    default: {
      let v = 0n;
      for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(rng.int(256));
      return v;
    }
  }
}

function readField(b: Uint8Array, f: Field): bigint {
  let v = 0n;
  for (let i = 0; i < f.size; i++) {
    const byte = b[f.offset + (f.le ? f.size - 1 - i : i)];
    v = (v << 8n) | BigInt(byte ?? 0);
  }
  return v;
}

function writeField(b: Uint8Array, f: Field, v: bigint): void {
  for (let i = 0; i < f.size; i++) {
    const byte = Number((v >> BigInt(8 * i)) & 0xffn);
    const at = f.offset + (f.le ? i : f.size - 1 - i);
    if (at < b.length) b[at] = byte;
  }
}

/** One seeded mutation of seed. About one case in 50 is the file unchanged (the result must be right). */
export function mutate(seed: Seed, rng: Rng): Mutation {
  // A plain Uint8Array: Buffer.slice() would return a view and the mutation would damage the seed.
  const src = seed.bytes instanceof Buffer ? new Uint8Array(seed.bytes) : seed.bytes;
  const r = rng.int(100);
  if (r < 2) return { kind: 'none', bytes: src.slice() };
  if (r < 30 && seed.fields.length) {
    const f = seed.fields[rng.int(seed.fields.length)];
    const which = (['zero', 'huge', 'neg', 'rand', 'off1'] as const)[rng.int(5)];
    let b: Uint8Array = src.slice();
    writeField(b, f, fieldValue(which, f.size, readField(src, f), rng));
    if (seed.fixup && rng.int(4) !== 0) b = seed.fixup(b);
    return { kind: `field-${which}:${f.name}`, bytes: b };
  }
  if (r < 50 && seed.structural) return seed.structural(rng);
  const k = rng.int(6);
  const b = src.slice();
  const n = src.length;
  if (k === 0) { // 1-8 bit flips, half of the time inside the first 64 bytes (the header)
    const flips = 1 + rng.int(8);
    const span = rng.int(2) === 0 ? Math.min(n, 64) : n;
    for (let i = 0; i < flips; i++) { const at = rng.int(span); b[at] ^= 1 << rng.int(8); }
    return { kind: 'bitflip', bytes: seed.fixup && rng.int(2) ? seed.fixup(b) : b };
  }
  if (k === 1) { // a few bytes set to 0x00, 0xff or random
    const count = 1 + rng.int(4);
    for (let i = 0; i < count; i++) {
      const at = rng.int(n);
      b[at] = [0, 0xff, rng.int(256)][rng.int(3)];
    }
    return { kind: 'bytes', bytes: b };
  }
  if (k === 2) { // truncation anywhere, often inside the header
    const cut = rng.int(2) === 0 ? rng.int(Math.min(n, 80)) : rng.int(n);
    return { kind: 'truncate', bytes: src.slice(0, cut) };
  }
  if (k === 3) { // extension: random bytes, zeros or a copy of the file's tail
    const extra = 1 + rng.int(512);
    const out = new Uint8Array(n + extra);
    out.set(src);
    const mode = rng.int(3);
    for (let i = 0; i < extra; i++) out[n + i] = mode === 0 ? rng.int(256) : mode === 1 ? 0 : src[(n - extra + i + n) % n];
    return { kind: 'extend', bytes: out };
  }
  if (k === 4) { // delete a region
    const at = rng.int(n);
    const len = 1 + rng.int(Math.max(1, Math.min(256, n - at)));
    const out = new Uint8Array(n - Math.min(len, n - at));
    out.set(src.subarray(0, at));
    out.set(src.subarray(at + len), at);
    return { kind: 'delete', bytes: out };
  }
  // duplicate a region in place (repeats a chunk, a row, a segment)
  const at = rng.int(n);
  const len = 1 + rng.int(Math.max(1, Math.min(256, n - at)));
  const piece = src.subarray(at, at + len);
  const out = new Uint8Array(n + piece.length);
  out.set(src.subarray(0, at + piece.length));
  out.set(piece, at + piece.length);
  out.set(src.subarray(at + piece.length), at + 2 * piece.length);
  return { kind: 'duplicate', bytes: out };
}

/** Values a structure-aware mutation puts in place of a number in a JSON header or text cell. */
export const NASTY_NUMBERS: readonly unknown[] = [
  0, -1, 1, 2 ** 31, 2 ** 32 + 1, 2 ** 53, 1e9, 1e15, 1e308, -(2 ** 31), 0.5, -0.0,
  '7', 'NaN', null, true, [], {}, [1e9, 1e9], [-1],
];

/** Every path to a leaf of a JSON value (array indices and object keys). */
export function jsonLeaves(v: unknown, path: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v !== null && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v as object);
    if (entries.length === 0) out.push(path);
    for (const [k, x] of entries) jsonLeaves(x, [...path, k], out);
  } else {
    out.push(path);
  }
  return out;
}

/** A copy of v with the value at path replaced (or the key deleted when value is undefined). */
export function setJsonPath(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(v) ? [...(v as unknown[])] : { ...(v as object) };
  const [head, ...rest] = path;
  if (rest.length === 0 && value === undefined) {
    if (Array.isArray(copy)) copy.splice(head as number, 1); else delete copy[head];
  } else {
    copy[head] = setJsonPath(copy[head], rest, value);
  }
  return copy;
}

/** A seeded damage to one leaf of a JSON value: a nasty number, a deletion, or a wrong type. */
export function mutateJson(v: unknown, rng: Rng): { value: unknown; what: string } {
  const leaves = jsonLeaves(v);
  const path = leaves[rng.int(leaves.length)];
  const r = rng.int(10);
  if (r === 0) return { value: setJsonPath(v, path, undefined), what: `delete ${path.join('.')}` };
  const nasty = NASTY_NUMBERS[rng.int(NASTY_NUMBERS.length)];
  return { value: setJsonPath(v, path, structuredClone(nasty)), what: `${path.join('.')}=${JSON.stringify(nasty)}` };
}
