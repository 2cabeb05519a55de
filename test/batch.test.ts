// gather_batch on every WASM variant against the TS reference: row widths below, at and above
// the 16-pixel vector, the MNIST width 784, unaligned sources, every byte value 0..255, and rows
// shuffled or in order (the kernel copies 8 shuffled rows at once, rows in order one by one).
import { describe, it, expect } from 'vitest';
import { Rng } from '../src/util/rng.js';
import { check, putF32, putI32, putU8, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

const WIDTHS = [1, 3, 4, 7, 15, 16, 17, 33, 64, 784, 785];
// [1/255, 0] and [1, 0] take the kernel's copy without the add; [-1/255, 0] must not (pixel 0 gives
// -0 there, and -0 + 0 = +0)
const NORMS: [number, number][] = [[1 / 255, 0], [1 / (255 * 0.3081), -0.1307 / 0.3081], [1, 0], [-1 / 255, 0]];

function dataset(rows: number, D: number, seed: number) {
  const rng = new Rng(seed);
  const images = Uint8Array.from({ length: rows * D }, (_, i) => (i < 256 ? i : rng.int(256)));
  const labels = Uint8Array.from({ length: rows }, () => rng.int(10));
  return { images, labels };
}

reportMaxDiffs('batch: wasm vs ts reference');

for (const be of wasmBackends()) {
  describe(be.name, () => {
    it(`gathers and normalizes rows of width ${WIDTHS.join(', ')}`, () => {
      for (const D of WIDTHS) {
        for (const [scale, shift] of NORMS) {
          for (const off of [0, 1, 5]) {
            const rows = 37, B = 27;
            const mark = be.mark();
            const { images, labels } = dataset(rows, D, D + off);
            const rng = new Rng(D * 7 + off);
            // Groups of 8 rows: shuffled, in order (the kernel copies row by row), in order but for
            // the last, then 3 rows left over.
            const runs = [rows - 1, ...Array.from({ length: 7 }, () => rng.int(rows)),
              ...Array.from({ length: 8 }, (_, i) => 20 + i), ...[3, 4, 5, 6, 7, 8, 9, 11]];
            const idx = Int32Array.from({ length: B }, (_, b) => runs[b] ?? rng.int(rows));
            const wantX = new Float32Array(B * D), wantY = new Int32Array(B);
            ref.gatherBatch(wantX, wantY, images, labels, idx, B, D, scale, shift);
            const x = be.f32(B * D + 1).subarray(off % 2), y = be.i32(B);
            be.gatherBatch(x, y, putU8(be, images, off), putU8(be, labels, off + 1), putI32(be, idx, off % 3),
              B, D, scale, shift);
            check(`${be.name} gather x`, x.subarray(0, B * D), wantX, 1e-6, 1e-6);
            const negZeros = (a: Float32Array) => a.reduce((n, v) => n + (Object.is(v, -0) ? 1 : 0), 0);
            expect(negZeros(x.subarray(0, B * D))).toBe(negZeros(wantX));
            expect(Array.from(y)).toEqual(Array.from(wantY));
            be.release(mark);
          }
        }
      }
    });

    it('normalizes each channel of C x H x W rows with its own scale and shift', () => {
      // planes of 1, 5, 16, 17 and 1024 pixels (CIFAR's 32x32), shuffled and in-order groups
      for (const [C, P] of [[3, 1], [3, 5], [2, 16], [3, 17], [3, 1024], [1, 33]]) {
        const D = C * P, rows = 29, B = 21;
        const mark = be.mark();
        const { images, labels } = dataset(rows, D, D);
        const rng = new Rng(D);
        const idx = Int32Array.from({ length: B }, (_, b) => (b >= 8 && b < 16 ? b : rng.int(rows)));
        const norm = Float32Array.from({ length: 2 * C }, (_, i) => (i % 2 ? -0.4 - 0.1 * i : 1 / (255 * (0.2 + 0.05 * i))));
        const wantX = new Float32Array(B * D), wantY = new Int32Array(B);
        ref.gatherBatchChannels(wantX, wantY, images, labels, idx, B, D, norm);
        const x = be.f32(B * D), y = be.i32(B);
        be.gatherBatchChannels(x, y, putU8(be, images, 1), putU8(be, labels), putI32(be, idx), B, D, putF32(be, norm));
        check(`${be.name} gather channels x`, x, wantX, 1e-6, 1e-6);
        expect(Array.from(y)).toEqual(Array.from(wantY));
        // channel c of the first row is that plane's pixels under norm[c]
        const c = C - 1;
        expect(x[c * P]).toBeCloseTo(images[idx[0] * D + c * P] * norm[2 * c] + norm[2 * c + 1], 5);
        be.release(mark);
      }
    });

    it('writes nothing past B rows', () => {
      const D = 19, B = 3;
      const mark = be.mark();
      const { images, labels } = dataset(5, D, 1);
      const x = be.f32(B * D + 8).fill(42), y = be.i32(B + 4).fill(42);
      be.gatherBatch(x, y, putU8(be, images), putU8(be, labels), putI32(be, [4, 0, 2]), B, D, 1 / 255, 0);
      expect(Array.from(x.subarray(B * D))).toEqual(new Array(8).fill(42));
      expect(Array.from(y.subarray(B))).toEqual(new Array(4).fill(42));
      expect(x[0]).toBeCloseTo(images[4 * D] / 255, 6);
      be.release(mark);
    });
  });
}
