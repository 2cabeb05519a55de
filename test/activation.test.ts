// Activation kernels on every WASM variant against the TS reference: all kinds, odd sizes,
// unaligned pointers, in-place calls, and special values (0, -0, huge, tiny).
import { describe, it, expect } from 'vitest';
import { ACTIVATIONS, type Activation } from '../src/engine/backend.js';
import { randomF32 } from './helpers.js';
import { check, expectSameBits, putF32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

const SIZES = [1, 3, 7, 13, 64, 785, 1030];
const ALPHA = 0.01;
// exp-based kinds are approximations (a few ulp); the others are exact up to alpha's f32 rounding
const TOL: Record<Activation, [number, number]> = {
  identity: [0, 0], relu: [0, 0], leaky_relu: [1e-9, 1e-6], sigmoid: [1e-7, 2e-6], tanh: [1e-7, 2e-6],
  gelu: [1e-7, 2e-6],
};
// backward: exact formulas within 1e-7 + 1e-6 relative; gelu's f' adds two terms of opposite sign
// for x < 0 (and runs through exp), so its f32 result is a few ulp of the larger term off
const BACKWARD_TOL: Partial<Record<Activation, [number, number]>> = { gelu: [1e-6, 4e-6] };
const SPECIAL = [0, -0, 1e-8, -1e-8, 0.625, -0.625, 0.6249, 5, -5, 9, -9, 20, -20, 88, -88, 89, -89,
  100, -100, 1000, -1000, 3e38, -3e38, Infinity, -Infinity];

function inputs(n: number, seed: number): Float32Array {
  const x = randomF32(n, seed, -8, 8);
  for (let i = 0; i < n && i < SPECIAL.length; i += 2) x[i] = SPECIAL[(i / 2 + seed) % SPECIAL.length];
  return x;
}

reportMaxDiffs('activation: wasm vs ts reference');

for (const be of wasmBackends()) {
  describe(be.name, () => {
    for (const kind of ACTIVATIONS) {
      const [atol, rtol] = TOL[kind];
      it(`${kind} forward and backward, sizes ${SIZES.join(', ')}, aligned and unaligned`, () => {
        for (const n of SIZES) {
          for (const shift of [0, 1, 3]) {
            const mark = be.mark();
            const x = inputs(n, n + shift);
            const dy = randomF32(n, 7 * n + shift, -2, 2);
            const wantY = new Float32Array(n);
            ref.activationForward(kind, wantY, x, n, ALPHA);
            const wantDx = new Float32Array(n);
            ref.activationBackward(kind, wantDx, dy, wantY, n, ALPHA);

            const xin = putF32(be, x, shift);
            const y = putF32(be, new Float32Array(n), (shift + 1) % 4);
            be.activationForward(kind, y, xin, n, ALPHA);
            check(`${be.name} ${kind} forward`, y, wantY, atol, rtol);
            expect(Array.from(xin)).toEqual(Array.from(x)); // input untouched

            // backward from the reference output, so only the backward formula is compared
            const yin = putF32(be, wantY, shift);
            const dyin = putF32(be, dy, (shift + 2) % 4);
            const dx = putF32(be, new Float32Array(n), shift);
            be.activationBackward(kind, dx, dyin, yin, n, ALPHA);
            check(`${be.name} ${kind} backward`, dx, wantDx, ...(BACKWARD_TOL[kind] ?? [1e-7, 1e-6]));
            be.release(mark);
          }
        }
      });

      it(`${kind} in place (out = inp, dinp = dout)`, () => {
        for (const n of SIZES) {
          const mark = be.mark();
          const x = inputs(n, 100 + n);
          const wantY = new Float32Array(n);
          ref.activationForward(kind, wantY, x, n, ALPHA);
          const buf = putF32(be, x, n % 4);
          be.activationForward(kind, buf, buf, n, ALPHA);
          check(`${be.name} ${kind} forward in place`, buf, wantY, atol, rtol);

          const dy = randomF32(n, 200 + n);
          const wantDx = new Float32Array(n);
          ref.activationBackward(kind, wantDx, dy, wantY, n, ALPHA);
          const d = putF32(be, dy, 1);
          be.activationBackward(kind, d, d, putF32(be, wantY), n, ALPHA);
          check(`${be.name} ${kind} backward in place`, d, wantDx, ...(BACKWARD_TOL[kind] ?? [1e-7, 1e-6]));
          be.release(mark);
        }
      });
    }

    it('any split of the range gives bit-identical results (tail lanes compute like the body)', () => {
      const n = 103;
      const x = inputs(n, 5);
      for (const kind of ACTIVATIONS) {
        const mark = be.mark();
        const xin = putF32(be, x);
        const whole = be.f32(n), parts = be.f32(n), dWhole = be.f32(n), dParts = be.f32(n);
        be.activationForward(kind, whole, xin, n, ALPHA);
        be.activationBackward(kind, dWhole, xin, whole, n, ALPHA);
        for (const [a, b] of [[0, 5], [5, 6], [6, 64], [64, 101], [101, 103]]) {
          be.activationForward(kind, parts.subarray(a, b), xin.subarray(a, b), b - a, ALPHA);
          be.activationBackward(kind, dParts.subarray(a, b), xin.subarray(a, b), whole.subarray(a, b), b - a, ALPHA);
        }
        expectSameBits(parts, whole);
        expectSameBits(dParts, dWhole);
        be.release(mark);
      }
    });

    it('NaN in gives what the reference gives (NaN for sigmoid/tanh/identity, 0 for relu)', () => {
      const x = [NaN, 1, NaN, -1, NaN];
      for (const kind of ACTIVATIONS) {
        const mark = be.mark();
        const want = new Float32Array(5);
        ref.activationForward(kind, want, Float32Array.from(x), 5, ALPHA);
        const y = be.f32(5);
        be.activationForward(kind, y, putF32(be, x), 5, ALPHA);
        expect(Array.from(y).map(Number.isNaN)).toEqual(Array.from(want).map(Number.isNaN));
        be.release(mark);
      }
    });

    it('writes nothing past N', () => {
      for (const kind of ACTIVATIONS) {
        for (const n of [1, 3, 5, 7, 9]) {
          const mark = be.mark();
          const x = putF32(be, inputs(n + 8, n));
          const y = putF32(be, new Float32Array(n + 8).fill(42));
          be.activationForward(kind, y, x, n, ALPHA);
          expect(Array.from(y.subarray(n))).toEqual(new Array(8).fill(42));
          be.activationBackward(kind, y, x, x, n, ALPHA);
          expect(Array.from(y.subarray(n))).toEqual(new Array(8).fill(42));
          be.release(mark);
        }
      }
    });

    it('sigmoid and tanh stay within 4 ulp of the exact value over [-80, 80]', () => {
      const n = 160001;
      const x = new Float32Array(n).map((_, i) => -80 + i * 0.001);
      const mark = be.mark();
      const xin = putF32(be, x);
      const y = putF32(be, new Float32Array(n));
      for (const [kind, exact] of [['sigmoid', (v: number) => 1 / (1 + Math.exp(-v))],
        ['tanh', Math.tanh]] as const) {
        be.activationForward(kind, y, xin, n, 0);
        let worstUlp = 0;
        for (let i = 0; i < n; i++) {
          const e = exact(x[i]);
          if (Math.abs(e) < 1.2e-38) continue; // subnormal results: absolute error is what counts
          const ulp = 2 ** (Math.floor(Math.log2(Math.abs(e))) - 23);
          worstUlp = Math.max(worstUlp, Math.abs(y[i] - e) / ulp);
        }
        check(`${be.name} ${kind} ulp error over [-80, 80]`, [worstUlp], [0], 4, 0);
      }
      be.release(mark);
    });

    it('sigmoid and tanh saturate cleanly: finite, within [0,1] / [-1,1], odd symmetry of tanh', () => {
      const n = 2001;
      const x = new Float32Array(n).map((_, i) => (i - 1000) * 0.1); // -100 .. 100
      const mark = be.mark();
      const xin = putF32(be, x);
      const s = putF32(be, new Float32Array(n));
      const t = putF32(be, new Float32Array(n));
      be.activationForward('sigmoid', s, xin, n, 0);
      be.activationForward('tanh', t, xin, n, 0);
      for (let i = 0; i < n; i++) {
        expect(s[i]).toBeGreaterThanOrEqual(0);
        expect(s[i]).toBeLessThanOrEqual(1);
        expect(Math.abs(t[i])).toBeLessThanOrEqual(1);
        expect(t[i] === -t[n - 1 - i]).toBe(true);
      }
      expect(s[0]).toBeLessThan(1e-40);
      expect(s[n - 1]).toBe(1);
      be.release(mark);
    });
  });
}
