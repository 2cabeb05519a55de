// optimizer_step on every WASM variant against the TS reference: all five kinds over several
// steps (so the state m, v and the bias corrections matter), weight decay on and off, odd sizes,
// unaligned arenas.
import { describe, it, expect } from 'vitest';
import { OPTIMIZERS, type OptimizerKind, type OptimizerStep } from '../src/engine/backend.js';
import { randomF32 } from './helpers.js';
import { bits, check, putF32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

const SIZES = [1, 3, 7, 64, 785, 1001];
const STEPS = 5;

function hyper(kind: OptimizerKind, weightDecay: number, step: number): OptimizerStep {
  const adam = kind === 'adam' || kind === 'adamw';
  return { kind, lr: adam ? 1e-3 : 0.05, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, step };
}

reportMaxDiffs('optimizer: wasm vs ts reference after each step');

for (const be of wasmBackends()) {
  describe(be.name, () => {
    for (const kind of OPTIMIZERS) {
      for (const wd of [0, 0.01]) {
        it(`${kind}, weight decay ${wd}, ${STEPS} steps, sizes ${SIZES.join(', ')}`, () => {
          for (const n of SIZES) {
            const shift = n % 3;
            const mark = be.mark();
            const w0 = randomF32(n, n, -1, 1);
            const wRef = w0.slice(), mRef = new Float32Array(n), vRef = new Float32Array(n);
            const w = putF32(be, w0, shift);
            const m = putF32(be, new Float32Array(n), (shift + 1) % 4);
            const v = putF32(be, new Float32Array(n), (shift + 2) % 4);
            const g = putF32(be, new Float32Array(n), 3);
            for (let step = 1; step <= STEPS; step++) {
              const grad = randomF32(n, 1000 * step + n, -1, 1);
              g.set(grad);
              const h = hyper(kind, wd, step);
              ref.optimizerStep(wRef, grad, mRef, vRef, n, h);
              be.optimizerStep(w, g, m, v, n, h);
              // f32 arithmetic (and f32 mu, beta1, beta2 from the host) against the reference's f64:
              // m and v sum terms of size ~|g|, so the absolute tolerance follows that scale
              check(`${be.name} ${kind} wd=${wd} params`, w, wRef, 1e-6, 1e-6);
              if (kind !== 'sgd') check(`${be.name} ${kind} wd=${wd} m`, m, mRef, 1e-6, 1e-6);
              if (kind === 'adam' || kind === 'adamw') check(`${be.name} ${kind} wd=${wd} v`, v, vRef, 1e-8, 1e-6);
            }
            expect(Array.from(g)).toEqual(Array.from(randomF32(n, 1000 * STEPS + n, -1, 1))); // grads untouched
            // the update moved every parameter
            for (let i = 0; i < n; i++) expect(w[i]).not.toBe(w0[i]);
            be.release(mark);
          }
        });
      }
    }

    it('any split of the arena gives bit-identical results (tail lanes compute like the body)', () => {
      const n = 103;
      for (const kind of OPTIMIZERS) {
        const mark = be.mark();
        const runs = [[[0, n]], [[0, 5], [5, 6], [6, 64], [64, 101], [101, 103]]].map((cuts) => {
          const w = putF32(be, randomF32(n, 1)), g = putF32(be, randomF32(n, 2));
          const m = putF32(be, randomF32(n, 3, 0, 0.1)), v = putF32(be, randomF32(n, 4, 0, 0.1));
          for (const [a, b] of cuts) {
            be.optimizerStep(w.subarray(a, b), g.subarray(a, b), m.subarray(a, b), v.subarray(a, b), b - a,
              hyper(kind, 0.01, 3));
          }
          return [w, m, v].map(bits);
        });
        expect(runs[1]).toEqual(runs[0]);
        be.release(mark);
      }
    });

    it('writes nothing past N', () => {
      for (const kind of OPTIMIZERS) {
        for (const n of [1, 2, 3, 5, 6, 7]) {
          const mark = be.mark();
          const w = putF32(be, new Float32Array(n + 8).fill(1));
          const g = putF32(be, new Float32Array(n + 8).fill(0.5));
          const m = putF32(be, new Float32Array(n + 8).fill(2));
          const v = putF32(be, new Float32Array(n + 8).fill(3));
          be.optimizerStep(w, g, m, v, n, hyper(kind, 0.1, 1));
          expect(Array.from(w.subarray(n))).toEqual(new Array(8).fill(1));
          expect(Array.from(m.subarray(n))).toEqual(new Array(8).fill(2));
          expect(Array.from(v.subarray(n))).toEqual(new Array(8).fill(3));
          expect(w[n - 1]).not.toBe(1);
          be.release(mark);
        }
      }
    });
  });
}
