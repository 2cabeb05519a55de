// safetensors: round trip of every dtype, metadata, the byte layout checked by hand against the
// spec, atomic writes, and a UserError for every truncated or corrupted file.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/io/atomic.js';
import { decodeSafetensors, encodeSafetensors, readSafetensors, writeSafetensors, type Tensor } from '../src/io/safetensors.js';
import { Rng } from '../src/util/rng.js';
import { expectUserError } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'st-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


function everyDtype(seed: number): Record<string, Tensor> {
  const rng = new Rng(seed);
  return {
    w: { dtype: 'F32', shape: [3, 5], data: new Float32Array(15).map(() => rng.normal()) },
    d: { dtype: 'F64', shape: [7], data: new Float64Array(7).map(() => rng.normal()) },
    i: { dtype: 'I32', shape: [2, 2], data: new Int32Array([-1, 2 ** 31 - 1, -(2 ** 31), 0]) },
    u: { dtype: 'U32', shape: [3], data: new Uint32Array([0, 2 ** 32 - 1, rng.u32()]) },
    b: { dtype: 'U8', shape: [1, 3, 1], data: new Uint8Array([0, 128, 255]) },
    step: { dtype: 'I64', shape: [], data: new BigInt64Array([-(2n ** 63n) + 5n]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

/** A file with a hand-written header (padded like the spec asks) and `data` bytes after it. */
function handmade(header: unknown, data: Uint8Array, raw?: string): Uint8Array {
  let json = new TextEncoder().encode(raw ?? JSON.stringify(header));
  const padded = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(32);
  padded.set(json);
  json = padded;
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('safetensors round trip', () => {
  it('every dtype and the metadata come back identical, in aligned arrays', () => {
    const t = everyDtype(1);
    const meta = { format: 'wasmnist', spec: '{"layers":[784,10]}', empty: '' };
    const path = join(tmp, 'all.safetensors');
    writeSafetensors(path, t, meta);
    const back = readSafetensors(path);
    expect(back.metadata).toEqual(meta);
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(t).sort());
    for (const [name, want] of Object.entries(t)) {
      const got = back.tensors[name];
      expect(got.dtype).toBe(want.dtype);
      expect(got.shape).toEqual(want.shape);
      expect(got.data.constructor).toBe(want.data.constructor);
      expect(Array.from(got.data as ArrayLike<number | bigint>)).toEqual(Array.from(want.data as ArrayLike<number | bigint>));
      expect(got.data.byteOffset).toBe(0);
    }
    expect(decodeSafetensors(encodeSafetensors(t, {}), 'x').metadata).toEqual({});
  });

  it('byte layout matches the spec, checked by hand', () => {
    const bytes = encodeSafetensors({
      a: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      b: { dtype: 'F64', shape: [1], data: new Float64Array([1.5]) },
      c: { dtype: 'F32', shape: [2], data: new Float32Array([-2, 0.25]) },
    }, { k: 'v' });
    const dv = new DataView(bytes.buffer);
    const N = Number(dv.getBigUint64(0, true));
    expect((8 + N) % 8).toBe(0);
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + N));
    expect(text.trimEnd().length).toBeGreaterThan(N - 8); // at most 7 spaces of padding
    const header = JSON.parse(text);
    expect(header.__metadata__).toEqual({ k: 'v' });
    // Widest dtype first (F64, then F32, then U8): every tensor naturally aligned.
    expect(header.b).toEqual({ dtype: 'F64', shape: [1], data_offsets: [0, 8] });
    expect(header.c).toEqual({ dtype: 'F32', shape: [2], data_offsets: [8, 16] });
    expect(header.a).toEqual({ dtype: 'U8', shape: [3], data_offsets: [16, 19] });
    expect(bytes.length).toBe(8 + N + 19);
    const base = 8 + N;
    expect(dv.getFloat64(base, true)).toBe(1.5);
    expect(dv.getFloat32(base + 8, true)).toBe(-2);
    expect(dv.getFloat32(base + 12, true)).toBe(0.25);
    expect(Array.from(bytes.subarray(base + 16))).toEqual([1, 2, 3]);
  });

  it('reads a hand-made file with metadata last and unordered keys', () => {
    const data = new Uint8Array(12);
    new DataView(data.buffer).setInt32(0, -7, true);
    new DataView(data.buffer).setFloat32(4, 3.5, true);
    new DataView(data.buffer).setFloat32(8, -1, true);
    const got = decodeSafetensors(handmade({
      y: { dtype: 'F32', shape: [2, 1], data_offsets: [4, 12] },
      x: { dtype: 'I32', shape: [1], data_offsets: [0, 4] },
      __metadata__: { m: '1' },
    }, data), 'hand.safetensors');
    expect(Array.from(got.tensors.x.data as Int32Array)).toEqual([-7]);
    expect(Array.from(got.tensors.y.data as Float32Array)).toEqual([3.5, -1]);
    expect(got.metadata).toEqual({ m: '1' });
  });

  it('writeFileAtomic replaces whole files, leaves no temp files, and never half-writes', () => {
    const dir = join(tmp, 'atomic');
    mkdirSync(dir);
    const p = join(dir, 'f.txt');
    writeFileAtomic(p, 'old contents that are longer');
    writeFileAtomic(p, new Uint8Array([110, 101, 119]));
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['f.txt']);
    // A failing write (the target is a folder) leaves the folder and no temp file behind.
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'keep'), 'x');
    expectUserError(() => writeFileAtomic(join(dir, 'sub'), 'data'), /cannot write .*sub/);
    expect(readdirSync(dir).sort()).toEqual(['f.txt', 'sub']);
    expectUserError(() => writeSafetensors(join(tmp, 'no', 'such', 'x.safetensors'), everyDtype(2), {}), /folder .* does not exist/);
    expect(existsSync(join(tmp, 'no'))).toBe(false);
  });

  it('writeFileAtomic removes temp files of killed writers, not of live ones', () => {
    const dir = join(tmp, 'stale');
    mkdirSync(dir);
    const p = join(dir, 'ckpt.safetensors');
    const deadPid = 2 ** 22 + 12345; // above Linux's pid_max: never a running process
    writeFileSync(join(dir, `.ckpt.safetensors.${deadPid}.0.tmp`), 'torn');
    writeFileSync(join(dir, `.ckpt.safetensors.${process.ppid}.3.tmp`), 'a live writer');
    writeFileSync(join(dir, `.other.safetensors.${deadPid}.0.tmp`), 'another target');
    writeFileAtomic(p, 'whole');
    expect(readdirSync(dir).sort()).toEqual([
      `.ckpt.safetensors.${process.ppid}.3.tmp`, `.other.safetensors.${deadPid}.0.tmp`, 'ckpt.safetensors',
    ]);
  });
});

describe('safetensors errors', () => {
  const good = encodeSafetensors(everyDtype(3), { a: 'b' });
  const N = Number(new DataView(good.buffer).getBigUint64(0, true));
  const f32 = (n: number) => new Uint8Array(4 * n);

  it('missing, empty, truncated files', () => {
    expectUserError(() => readSafetensors(join(tmp, 'absent.safetensors')), /not found.*absent/);
    expectUserError(() => decodeSafetensors(new Uint8Array(5), 'f.st'), /f\.st is not a valid safetensors.*5 bytes/);
    expectUserError(() => decodeSafetensors(good.subarray(0, 8 + N - 3), 'f.st'), /header length \d+ exceeds/);
    expectUserError(() => decodeSafetensors(good.subarray(0, good.length - 1), 'f.st'), /truncated|cover/);
    const p = join(tmp, 'trunc.safetensors');
    writeFileSync(p, good.subarray(0, 8 + N + 10));
    expectUserError(() => readSafetensors(p), /trunc\.safetensors.*ends at byte/);
  });

  it('absurd header length and garbage', () => {
    const big = good.slice();
    new DataView(big.buffer).setBigUint64(0, 2n ** 63n, true);
    expectUserError(() => decodeSafetensors(big, 'f.st'), /header length 9223372036854775808 exceeds/);
    const noise = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 255);
    expectUserError(() => decodeSafetensors(noise, 'noise.st'), /noise\.st is not a valid safetensors/);
    expectUserError(() => decodeSafetensors(handmade(null, f32(0), '{"a": [1, 2'), 'f.st'), /not valid UTF-8 JSON/);
    expectUserError(() => decodeSafetensors(handmade(null, f32(0), '[1,2]'), 'f.st'), /JSON object/);
    const badUtf8 = handmade(null, f32(0), '{"ab":1}');
    badUtf8[10] = 0xff; badUtf8[11] = 0xfe; // not UTF-8
    expectUserError(() => decodeSafetensors(badUtf8, 'f.st'), /UTF-8/);
  });

  it('bad tensor entries', () => {
    const one = (entry: unknown, data = f32(2)) => () => decodeSafetensors(handmade({ t: entry }, data), 'f.st');
    expectUserError(one({ dtype: 'F16', shape: [2], data_offsets: [0, 8] }), /unsupported dtype "F16"/);
    expectUserError(one({ dtype: 'F32', shape: [-2], data_offsets: [0, 8] }), /invalid shape/);
    expectUserError(one({ dtype: 'F32', shape: [2.5], data_offsets: [0, 8] }), /invalid shape/);
    expectUserError(one({ dtype: 'F32', shape: 'x', data_offsets: [0, 8] }), /invalid shape/);
    expectUserError(one({ dtype: 'F32', shape: new Array(40).fill(1), data_offsets: [0, 8] }), /invalid shape/);
    expectUserError(one({ dtype: 'F32', shape: [2], data_offsets: [8, 0] }), /invalid data_offsets/);
    expectUserError(one({ dtype: 'F32', shape: [2], data_offsets: [0] }), /invalid data_offsets/);
    expectUserError(one({ dtype: 'F32', shape: [2], data_offsets: [0, 16] }), /ends at byte 16 .* holds 8/);
    expectUserError(one({ dtype: 'F32', shape: [3], data_offsets: [0, 8] }), /needs 12 bytes but its offsets span 8/);
    expectUserError(one({ dtype: 'F32', shape: [2 ** 40, 2 ** 40], data_offsets: [0, 8] }), /needs \d+ bytes/);
    expectUserError(one({ dtype: 'F32', shape: [1], data_offsets: [0, 4] }), /cover 4 of the 8/);
    expectUserError(one(7), /tensor 't' is not an object/);
    expectUserError(() => decodeSafetensors(handmade({ __metadata__: { a: 1 } }, f32(0)), 'f.st'), /__metadata__ value 'a' is not a string/);
    expectUserError(() => decodeSafetensors(handmade({ __metadata__: [] }, f32(0)), 'f.st'), /__metadata__ is not an object/);
  });

  it('overlapping tensors and holes', () => {
    const two = (a: number[], b: number[], n: number) => () => decodeSafetensors(handmade({
      a: { dtype: 'F32', shape: [(a[1] - a[0]) / 4], data_offsets: a },
      b: { dtype: 'F32', shape: [(b[1] - b[0]) / 4], data_offsets: b },
    }, f32(n)), 'f.st');
    expectUserError(two([0, 8], [4, 12], 3), /overlaps/);
    expectUserError(two([0, 4], [8, 12], 3), /4 unused bytes before tensor 'b'/);
    expect(two([4, 8], [0, 4], 2)().tensors.b.shape).toEqual([1]);
  });
});
