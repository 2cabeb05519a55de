// npz: round trip (stored and deflated), hand-built .npy bytes with Fortran order and big-endian
// dtypes, version 2.0 headers, and a UserError for every truncated or garbage archive or array.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeNpy, decodeNpz, encodeNpy, readNpz, writeNpz, type NpyArray } from '../src/io/npz.js';
import { Rng } from '../src/util/rng.js';
import { expectUserError } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'npz-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


/** .npy bytes written by hand: magic, version, header dict padded to 64, then `body`. */
function npy(dict: string, body: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  const h = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const out = new Uint8Array(total + body.length);
  out.set([0x93, 78, 85, 77, 80, 89, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, h.length, true); else dv.setUint32(8, h.length, true);
  for (let i = 0; i < h.length; i++) out[pre + i] = h.charCodeAt(i);
  out.set(body, total);
  return out;
}

const values = (a: NpyArray) => Array.from(a.data as ArrayLike<number | bigint>);

/** The seed's layout: W1 (10,784), b1 (10,1), W2 (10,10), b2 (10,1) float64, plus other dtypes. */
function arrays(seed: number): Record<string, NpyArray> {
  const rng = new Rng(seed);
  return {
    W1: { dtype: '<f8', shape: [10, 784], data: new Float64Array(7840).map(() => rng.normal()) },
    b1: { dtype: '<f8', shape: [10, 1], data: new Float64Array(10).map(() => rng.normal()) },
    f: { dtype: '<f4', shape: [2, 3, 4], data: new Float32Array(24).map(() => rng.float()) },
    i: { dtype: '<i4', shape: [3], data: new Int32Array([-5, 0, 2 ** 31 - 1]) },
    l: { dtype: '<i8', shape: [2], data: new BigInt64Array([-(2n ** 62n), 9n]) },
    u: { dtype: '|u1', shape: [], data: new Uint8Array([200]) },
    z: { dtype: '<f4', shape: [0, 3], data: new Float32Array(0) },
  };
}

describe('npz round trip', () => {
  for (const compress of [false, true]) {
    it(`writes and reads every dtype (${compress ? 'deflated' : 'stored'})`, () => {
      const a = arrays(1);
      const path = join(tmp, `rt${compress}.npz`);
      writeNpz(path, a, { compress });
      const back = readNpz(path);
      expect(Object.keys(back).sort()).toEqual(Object.keys(a).sort());
      for (const [k, want] of Object.entries(a)) {
        expect(back[k].dtype).toBe(want.dtype);
        expect(back[k].shape).toEqual(want.shape);
        expect(back[k].data.constructor).toBe(want.data.constructor);
        expect(values(back[k])).toEqual(values(want));
      }
      // Central directory: method 0 (stored, like np.savez) or 8 (deflate, like np.savez_compressed).
      const bytes = readFileSync(path);
      const cd = bytes.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      expect(bytes.readUInt16LE(cd + 10)).toBe(compress ? 8 : 0);
    });
  }

  it('writes .npy v1.0 headers as numpy does (64-byte aligned, C order)', () => {
    const b = encodeNpy({ dtype: '<f4', shape: [3], data: new Float32Array([1, 2, 3]) });
    // np.save gives these same 140 bytes: a 128-byte header (118 bytes of dict + padding + '\n').
    expect(b.length).toBe(128 + 12);
    const h = new TextDecoder('latin1').decode(b.subarray(10, 128));
    expect(h).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
    expect(new DataView(b.buffer).getUint16(8, true)).toBe(118);
    expect(new Float32Array(b.buffer.slice(128))).toEqual(new Float32Array([1, 2, 3]));
  });

  it('reads hand-built Fortran-order and big-endian arrays, stored and deflated entries, v2.0 headers', () => {
    // F-order (2,3) of [[1,2,3],[4,5,6]] is stored column by column: 1,4,2,5,3,6.
    const fbody = new Uint8Array(new Int32Array([1, 4, 2, 5, 3, 6]).buffer);
    // F-order (2,3,2): element [i,j,k] at i + 2j + 6k; value = 100i + 10j + k.
    const f3 = new Float64Array(12);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) f3[i + 2 * j + 6 * k] = 100 * i + 10 * j + k;
    // Big-endian float32 and int64, written by DataView.
    const be = new Uint8Array(12);
    new DataView(be.buffer).setFloat32(0, 1.5, false);
    new DataView(be.buffer).setFloat32(4, -2.25, false);
    new DataView(be.buffer).setFloat32(8, 1e-3, false);
    const be8 = new Uint8Array(8);
    new DataView(be8.buffer).setBigInt64(0, -123456789012n, false);
    const zip = zipSync({
      'fort.npy': [npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", fbody), { level: 0 }],
      'fort3.npy': [npy("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 2), }", new Uint8Array(f3.buffer)), { level: 9 }],
      'big.npy': [npy("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", be), { level: 6 }],
      'big8.npy': [npy('{"descr": ">i8", "fortran_order": False, "shape": (1L,)}', be8, 2), { level: 0 }],
      'byte.npy': [npy("{'descr': '<u1', 'fortran_order': True, 'shape': (1, 2), }", new Uint8Array([7, 9])), { level: 6 }],
    });
    // One stored (0) and one deflated (8) entry really are in the archive.
    const methods = new Set<number>();
    const buf = Buffer.from(zip);
    for (let o = buf.indexOf('PK\x01\x02', 0, 'latin1'); o >= 0; o = buf.indexOf('PK\x01\x02', o + 4, 'latin1')) methods.add(buf.readUInt16LE(o + 10));
    expect([...methods].sort()).toEqual([0, 8]);
    const path = join(tmp, 'hand.npz');
    writeFileSync(path, zip);
    const got = readNpz(path);
    expect(got.fort.shape).toEqual([2, 3]);
    expect(values(got.fort)).toEqual([1, 2, 3, 4, 5, 6]);
    const want3: number[] = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) want3.push(100 * i + 10 * j + k);
    expect(values(got.fort3)).toEqual(want3);
    expect(got.big.dtype).toBe('<f4');
    expect(values(got.big)).toEqual([1.5, -2.25, Math.fround(1e-3)]);
    expect(got.big8.dtype).toBe('<i8');
    expect(values(got.big8)).toEqual([-123456789012n]);
    expect(got.byte.dtype).toBe('|u1');
    expect(values(got.byte)).toEqual([7, 9]);
  });
});

describe('npz errors', () => {
  const good = readFileSync((() => { const p = join(tmp, 'good.npz'); writeNpz(p, arrays(2)); return p; })());
  const goodZ = readFileSync((() => { const p = join(tmp, 'goodz.npz'); writeNpz(p, arrays(2), { compress: true }); return p; })());
  const f = (name: string, b: Uint8Array) => { const p = join(tmp, name); writeFileSync(p, b); return p; };

  it('missing, empty, garbage and truncated archives', () => {
    expectUserError(() => readNpz(join(tmp, 'absent.npz')), /not found.*absent\.npz/);
    expectUserError(() => readNpz(f('empty.npz', new Uint8Array(0))), /empty\.npz is not a valid \.npz.*too short/);
    const noise = new Uint8Array(5000).map((_, i) => (i * 131 + 7) & 255);
    expectUserError(() => readNpz(f('noise.npz', noise)), /noise\.npz .*(no zip end-of-directory|does not start like a zip)/);
    for (const cut of [1, 30, good.length >> 1]) {
      expectUserError(() => readNpz(f('cut.npz', good.subarray(0, good.length - cut))), /cut\.npz is not a valid \.npz/);
      expectUserError(() => readNpz(f('cutz.npz', goodZ.subarray(0, goodZ.length - cut))), /cutz\.npz is not a valid \.npz/);
    }
    // The tail (directory) intact but the data in front cut away.
    expectUserError(() => readNpz(f('front.npz', good.subarray(4000))), /not a valid \.npz/);
  });

  it('corrupt deflate data and corrupt stored array bytes', () => {
    const z = goodZ.slice();
    for (let i = 200; i < 260; i++) z[i] ^= 0x5a;
    expectUserError(() => readNpz(f('flip.npz', z)), /flip\.npz is not a valid/);
  });

  it('non-npy entries and bad .npy headers', () => {
    expectUserError(() => decodeNpz(zipSync({ 'readme.txt': new Uint8Array(3) }), 'x.npz'), /entry readme\.txt is not a \.npy/);
    const one = (b: Uint8Array) => () => decodeNpz(zipSync({ 'a.npy': b }), 'x.npz');
    const d4 = new Uint8Array(8);
    expectUserError(one(new Uint8Array(20)), /x\.npz: a\.npy is not a valid \.npy array: missing the .*magic/);
    expectUserError(one(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", d4)), /needs 12 data bytes (but the file holds 8|\(\d+ with its header\) but its zip header states \d+)/);
    expectUserError(one(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", d4)), /needs 4 data bytes (but the file holds 8|\(\d+ with its header\) but its zip header states \d+)/);
    expectUserError(one(npy("{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", d4)), /unsupported dtype '<f2'/);
    expectUserError(one(npy("{'descr': '|f4', 'fortran_order': False, 'shape': (2,), }", d4)), /unsupported dtype '\|f4'/);
    expectUserError(one(npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", d4)), /structured/);
    expectUserError(one(npy("{'descr': '<f4', 'shape': (2,), }", d4)), /fortran_order/);
    expectUserError(one(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", d4)), /needs \d+ data bytes/);
    expectUserError(one(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ", d4)), /cannot parse header/);
    expectUserError(one(npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", d4)), /cannot parse header/);
    const long = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", d4);
    new DataView(long.buffer).setUint16(8, 60000, true);
    expectUserError(one(long), /header length 60000 runs past the end/);
    const v9 = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", d4);
    v9[6] = 9;
    expectUserError(one(v9), /unknown format version 9/);
  });
});
