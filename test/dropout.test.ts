// Dropout on every WASM variant: the mask must equal the TS reference's bit for bit (same hash,
// same threshold, same scale), for the p values a user types, odd sizes and unaligned pointers;
// the kept fraction is near 1 - p; backward multiplies by the mask, in place too.
import { describe, it, expect } from 'vitest';
import { dropoutDraw, hash32 } from '../src/engine/ref/dropout.js';
import { randomF32 } from './helpers.js';
import { expectSameBits, putF32, ref, wasmBackends } from './kernel_backends.js';

const SIZES = [1, 3, 7, 64, 785, 4099];
const PS = [0, 0.1, 0.2, 0.25, 0.3, 0.5, 0.7, 0.9];
const SEEDS = [0, 1, 0x9e3779b9, 0xffffffff, 123456789];

/** Inverse of lowbias32 (each step is a bijection on u32), to build seeds with a given draw. */
function hashInverse(x: number): number {
  const invMul = (a: number) => { // a^-1 mod 2^32 by Newton's iteration (a odd)
    let r = a;
    for (let k = 0; k < 5; k++) r = Math.imul(r, 2 - Math.imul(a, r));
    return r;
  };
  const unshift = (v: number, s: number) => { // inverse of v ^= v >>> s
    let r = v;
    for (let k = s; k < 32; k += s) r = v ^ (r >>> s);
    return r >>> 0;
  };
  x = unshift(x >>> 0, 16);
  x = Math.imul(x, invMul(0x846ca68b)) >>> 0;
  x = unshift(x, 15);
  x = Math.imul(x, invMul(0x7feb352d)) >>> 0;
  return unshift(x, 16);
}

for (const be of wasmBackends()) {
  describe(be.name, () => {
    it(`mask and output are bit-identical to the reference for p in ${PS.join(', ')}`, () => {
      for (const n of SIZES) {
        for (const p of PS) {
          for (const seed of SEEDS) {
            const shift = (n + seed) % 4;
            const mark = be.mark();
            const x = randomF32(n, n + seed);
            const wantOut = new Float32Array(n), wantMask = new Float32Array(n);
            ref.dropoutForward(wantOut, wantMask, x, n, p, seed);
            const out = putF32(be, new Float32Array(n), shift);
            const mask = putF32(be, new Float32Array(n), (shift + 1) % 4);
            be.dropoutForward(out, mask, putF32(be, x, (shift + 2) % 4), n, p, seed);
            expectSameBits(mask, wantMask);
            expectSameBits(out, wantOut);
            be.release(mark);
          }
        }
      }
    });

    it('p values whose f32 rounding moves floor(p * 2^24) (0.3) still agree at the threshold', () => {
      // Seeds chosen (by inverting the hash) so that unit i draws exactly the reference threshold:
      // the reference keeps it, a kernel that rounded p to f32 (threshold one higher) would drop it.
      for (const p of [0.3, 0.1, 0.7]) {
        const thr = Math.floor(p * 16777216);
        if (p === 0.3) expect(Math.floor(Math.fround(p) * 16777216)).toBe(thr + 1); // the hazard is real
        for (const [n, i] of [[7, 2], [7, 5], [64, 37], [1, 0]]) {
          for (const [draw, kept] of [[thr, true], [thr - 1, false]] as const) {
            const seed = (hashInverse(((draw << 8) | 0x5a) >>> 0) - Math.imul(i, 0x9e3779b9)) >>> 0;
            expect(dropoutDraw(seed, i)).toBe(draw);
            const mark = be.mark();
            const mask = be.f32(n), out = be.f32(n);
            be.dropoutForward(out, mask, putF32(be, new Float32Array(n).fill(1)), n, p, seed);
            expect(mask[i]).toBe(kept ? Math.fround(1 / (1 - p)) : 0);
            be.release(mark);
          }
        }
      }
    });

    it('hashInverse inverts the reference hash (sanity of the seed construction above)', () => {
      for (const x of [0, 1, 0x12345678, 0xffffffff, 0x80000000]) expect(hash32(hashInverse(x))).toBe(x);
    });

    it('keeps about 1 - p of the units, scaled by 1/(1-p); in-place forward works', () => {
      const n = 100_000;
      for (const p of [0.1, 0.25, 0.5, 0.8]) {
        const mark = be.mark();
        const buf = putF32(be, new Float32Array(n).fill(1), 1);
        const mask = be.f32(n);
        be.dropoutForward(buf, mask, buf, n, p, 7);
        const scale = Math.fround(1 / (1 - p));
        let kept = 0, wrong = 0;
        for (let i = 0; i < n; i++) {
          if (mask[i] !== 0) kept++;
          if (buf[i] !== (mask[i] !== 0 ? scale : 0) || (mask[i] !== 0 && mask[i] !== scale)) wrong++;
        }
        expect(wrong).toBe(0);
        // binomial standard deviation is at most 0.0016 here; 5 sigma
        expect(Math.abs(kept / n - (1 - p))).toBeLessThan(0.008);
        be.release(mark);
      }
    });

    it('different seeds give different masks; p = 0 keeps everything unscaled', () => {
      const n = 1000;
      const mark = be.mark();
      const x = putF32(be, randomF32(n, 3));
      const a = be.f32(n), b = be.f32(n), out = be.f32(n);
      be.dropoutForward(out, a, x, n, 0.5, 1);
      be.dropoutForward(out, b, x, n, 0.5, 2);
      let same = 0;
      for (let i = 0; i < n; i++) if (a[i] === b[i]) same++;
      expect(same).toBeLessThan(600);
      be.dropoutForward(out, a, x, n, 0, 1);
      expect(Array.from(a)).toEqual(new Array(n).fill(1));
      expect(Array.from(out)).toEqual(Array.from(x));
      be.release(mark);
    });

    it('a range starting at s with seed + s * 0x9e3779b9 draws what one call draws (thread split)', () => {
      const n = 103, p = 0.35, seed = 0xdeadbeef;
      const mark = be.mark();
      const x = putF32(be, randomF32(n, 9));
      const out = be.f32(n), mask = be.f32(n), outP = be.f32(n), maskP = be.f32(n);
      be.dropoutForward(out, mask, x, n, p, seed);
      for (const [a, b] of [[0, 5], [5, 6], [6, 64], [64, 101], [101, 103]]) {
        be.dropoutForward(outP.subarray(a, b), maskP.subarray(a, b), x.subarray(a, b), b - a, p,
          (seed + Math.imul(a, 0x9e3779b9)) >>> 0);
      }
      expectSameBits(maskP, mask);
      expectSameBits(outP, out);
      be.release(mark);
    });

    it('backward multiplies by the mask, also in place', () => {
      for (const n of SIZES) {
        const mark = be.mark();
        const dy = randomF32(n, n);
        const m = new Float32Array(n), tmp = new Float32Array(n);
        ref.dropoutForward(tmp, m, dy, n, 0.4, n);
        const want = new Float32Array(n);
        ref.dropoutBackward(want, dy, m, n);
        const mask = putF32(be, m, 2);
        const dx = putF32(be, new Float32Array(n), 1);
        be.dropoutBackward(dx, putF32(be, dy, 3), mask, n);
        expectSameBits(dx, want);
        const d = putF32(be, dy, 1);
        be.dropoutBackward(d, d, mask, n);
        expectSameBits(d, want);
        be.release(mark);
      }
    });
  });
}
