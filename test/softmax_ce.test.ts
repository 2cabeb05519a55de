// Softmax, fused softmax + cross-entropy and count_correct on every WASM variant against the TS
// reference: odd shapes, unaligned pointers, in-place softmax, and extreme logits.
import { describe, it, expect } from 'vitest';
import { Rng } from '../src/util/rng.js';
import { randomF32 } from './helpers.js';
import { check, putF32, putI32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

// (B, C): C below, at and above one vector, C = 785 for a long row, C = 1 degenerate; tails C % 4 of 1-3
const SHAPES: [number, number][] = [[1, 1], [1, 3], [3, 7], [7, 10], [5, 17], [64, 10], [3, 785], [2, 64],
  [13, 10], [21, 6], [9, 2]]; // B not a multiple of 8: a partial group of row sums before the last log

function labelsFor(B: number, C: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: B }, () => rng.int(C));
}

reportMaxDiffs('softmax_ce: wasm vs ts reference');

for (const be of wasmBackends()) {
  describe(be.name, () => {
    it('softmax forward matches, aligned, unaligned and in place', () => {
      for (const [B, C] of SHAPES) {
        for (const shift of [0, 1, 2]) {
          const mark = be.mark();
          const z = randomF32(B * C, B * 100 + C + shift, -10, 10);
          const want = new Float32Array(B * C);
          ref.softmaxForward(want, z, B, C);
          const p = putF32(be, new Float32Array(B * C), shift);
          be.softmaxForward(p, putF32(be, z, (shift + 1) % 4), B, C);
          check(`${be.name} softmax`, p, want, 1e-8, 4e-6);
          const inplace = putF32(be, z, shift);
          be.softmaxForward(inplace, inplace, B, C);
          check(`${be.name} softmax in place`, inplace, want, 1e-8, 4e-6);
          be.release(mark);
        }
      }
    });

    it('softmax-CE loss and dlogits match; without dlogits only the loss is computed', () => {
      for (const [B, C] of SHAPES) {
        for (const shift of [0, 3]) {
          const mark = be.mark();
          const z = randomF32(B * C, B * 31 + C + shift, -8, 8);
          const y = labelsFor(B, C, B + C);
          const wantD = new Float32Array(B * C);
          const wantLoss = ref.softmaxCrossEntropy(wantD, z, y, B, C);
          const zin = putF32(be, z, shift);
          const yin = putI32(be, y, shift);
          const d = putF32(be, new Float32Array(B * C), (shift + 1) % 4);
          const loss = be.softmaxCrossEntropy(d, zin, yin, B, C);
          check(`${be.name} softmax-CE loss`, [loss], [wantLoss], 1e-6, 1e-5);
          check(`${be.name} softmax-CE dlogits`, d, wantD, 1e-8, 4e-6);
          const lossOnly = be.softmaxCrossEntropy(null, zin, yin, B, C);
          expect(lossOnly).toBe(loss);
          expect(Array.from(zin)).toEqual(Array.from(z));
          be.release(mark);
        }
      }
    });

    it('softmax-CE with N != B scales dlogits by 1/N and counts like count_correct, also in place', () => {
      for (const [B, C] of SHAPES) {
        const mark = be.mark();
        // coarse values so ties are common
        const z = randomF32(B * C, B * 13 + C, 0, 4).map(Math.floor);
        const y = labelsFor(B, C, 5 * B + C);
        const N = 3 * B + 7;
        const wantD = new Float32Array(B * C);
        const wantLoss = ref.softmaxCrossEntropy(wantD, z, y, B, C, N);
        const wantCorrect = ref.countCorrect(z, y, B, C);
        const correct = be.i32(1);
        correct[0] = -1;
        const d = putF32(be, new Float32Array(B * C), 2);
        const loss = be.softmaxCrossEntropy(d, putF32(be, z, 1), putI32(be, y), B, C, N, correct);
        expect(correct[0]).toBe(wantCorrect);
        check(`${be.name} softmax-CE /N loss`, [loss], [wantLoss], 1e-6, 1e-5);
        check(`${be.name} softmax-CE /N dlogits`, d, wantD, 1e-8, 4e-6);
        // in place: the count still sees the logits, not the gradients written over them
        const buf = putF32(be, z, 3);
        correct[0] = -1;
        be.softmaxCrossEntropy(buf, buf, putI32(be, y), B, C, N, correct);
        expect(correct[0]).toBe(wantCorrect);
        check(`${be.name} softmax-CE /N in place dlogits`, buf, wantD, 1e-8, 4e-6);
        // labels at the reference argmax: every row counts
        const arg = Int32Array.from({ length: B }, (_, b) => {
          let best = 0;
          for (let j = 1; j < C; j++) if (z[b * C + j] > z[b * C + best]) best = j;
          return best;
        });
        be.softmaxCrossEntropy(null, putF32(be, z), putI32(be, arg), B, C, B, correct);
        expect(correct[0]).toBe(B);
        // a NaN in a row: that row's first maximum is the reference's (its loss is NaN)
        const zn = Float32Array.from(z);
        zn[(B >> 1) * C + (C >> 1)] = NaN;
        be.softmaxCrossEntropy(null, putF32(be, zn), putI32(be, arg), B, C, B, correct);
        expect(correct[0]).toBe(ref.countCorrect(zn, arg, B, C));
        be.release(mark);
      }
    });

    it('softmax-CE may write dlogits over the logits', () => {
      const [B, C] = [9, 11];
      const mark = be.mark();
      const z = randomF32(B * C, 5, -5, 5);
      const y = labelsFor(B, C, 6);
      const wantD = new Float32Array(B * C);
      const wantLoss = ref.softmaxCrossEntropy(wantD, z, y, B, C);
      const buf = putF32(be, z, 1);
      const loss = be.softmaxCrossEntropy(buf, buf, putI32(be, y), B, C);
      check(`${be.name} softmax-CE in place loss`, [loss], [wantLoss], 1e-6, 1e-5);
      check(`${be.name} softmax-CE in place dlogits`, buf, wantD, 1e-8, 4e-6);
      be.release(mark);
    });

    it('extreme logits (+-1000, all equal, one huge) give finite loss and rows of dlogits summing to ~0', () => {
      const C = 10;
      const rows: number[][] = [
        new Array(C).fill(1000),                                   // all equal, huge
        new Array(C).fill(-1000),                                  // all equal, tiny
        new Array(C).fill(0),
        Array.from({ length: C }, (_, j) => (j % 2 ? 1000 : -1000)), // alternating
        Array.from({ length: C }, (_, j) => (j === 7 ? 1000 : 0)),   // one huge, label elsewhere
        Array.from({ length: C }, (_, j) => (j === 0 ? 1000 : -1000)),
        Array.from({ length: C }, (_, j) => (j === 9 ? -1000 : 3e38)),
      ];
      const B = rows.length;
      const z = Float32Array.from(rows.flat());
      const y = Int32Array.from(rows.map((_, b) => b % C));
      const wantD = new Float32Array(B * C);
      const wantLoss = ref.softmaxCrossEntropy(wantD, z, y, B, C);
      const mark = be.mark();
      const d = putF32(be, new Float32Array(B * C));
      const loss = be.softmaxCrossEntropy(d, putF32(be, z), putI32(be, y), B, C);
      expect(Number.isFinite(loss)).toBe(true);
      check(`${be.name} softmax-CE extreme loss`, [loss], [wantLoss], 1e-3, 1e-6);
      check(`${be.name} softmax-CE extreme dlogits`, d, wantD, 1e-7, 1e-5);
      for (let b = 0; b < B; b++) {
        let sum = 0;
        for (let j = 0; j < C; j++) {
          expect(Number.isFinite(d[b * C + j])).toBe(true);
          sum += d[b * C + j];
        }
        expect(Math.abs(sum)).toBeLessThan(1e-6);
      }
      // an all-equal row alone: loss log(C), probabilities 1/C
      expect(be.softmaxCrossEntropy(null, putF32(be, z.subarray(0, C)), putI32(be, [3]), 1, C))
        .toBeCloseTo(Math.log(C), 6);
      const p = putF32(be, new Float32Array(B * C));
      be.softmaxForward(p, putF32(be, z), B, C);
      for (let j = 0; j < C; j++) expect(p[j]).toBeCloseTo(1 / C, 6);
      for (const v of p) expect(Number.isFinite(v)).toBe(true);
      be.release(mark);
    });

    it('a label outside 0..C-1 makes the loss NaN (it never reads another row)', () => {
      const [B, C] = [3, 10];
      const mark = be.mark();
      const z = putF32(be, randomF32(B * C, 1));
      for (const bad of [C, -1, 1000]) {
        const loss = be.softmaxCrossEntropy(be.f32(B * C), z, putI32(be, [1, bad, 2]), B, C);
        expect(Number.isNaN(loss)).toBe(true);
      }
      be.release(mark);
    });

    it('count_correct matches, first maximum wins on ties', () => {
      for (const [B, C] of SHAPES) {
        const mark = be.mark();
        // coarse values so ties are common
        const z = randomF32(B * C, B + 7 * C, 0, 4).map(Math.floor);
        const y = labelsFor(B, C, 3 * B + C);
        const want = ref.countCorrect(z, y, B, C);
        expect(be.countCorrect(putF32(be, z, 1), putI32(be, y, 2), B, C)).toBe(want);
        // labels set to the reference argmax: every row counts
        const arg = Int32Array.from({ length: B }, (_, b) => {
          let best = 0;
          for (let j = 1; j < C; j++) if (z[b * C + j] > z[b * C + best]) best = j;
          return best;
        });
        expect(be.countCorrect(putF32(be, z), putI32(be, arg), B, C)).toBe(B);
        be.release(mark);
      }
    });
  });
}
