// Augmentation (assembly/augment.ts): the identity and the mirror are exact, the kernel agrees with
// its TS twin, any thread count gives the same bytes, a draw is a pure function of (seed, image),
// and --augment parses and refuses in one line.
import { describe, expect, it } from 'vitest';
import type { AugmentOptions, Backend } from '../src/engine/backend.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { augmentDraw } from '../src/engine/ref/augment.js';
import { parseAugment } from '../src/train/config.js';
import { FlagError } from '../src/errors.js';
import { Rng } from '../src/util/rng.js';
import { putI32, putU8, ref, wasmBackends } from './kernel_backends.js';

const C = 2, H = 9, W = 11, D = C * H * W, N = 6;
const rng = new Rng(5);
const images = Uint8Array.from({ length: N * D }, () => rng.int(256));
const idx = [4, 0, 5, 2, 2, 1, 3];
const off: AugmentOptions = { translate: 0, rotate: 0, scale: 0, flip: false };
const all: AugmentOptions = { translate: 2, rotate: 15, scale: 0.15, flip: true };

function run(be: Backend, o: AugmentOptions, seed: number): Uint8Array {
  const out = be.u8(idx.length * D + 1).subarray(1);
  be.augmentBatch(out, putU8(be, images, 1), putI32(be, idx), idx.length, [C, H, W], o, seed);
  return out.slice();
}

const source = (b: number) => images.subarray(idx[b] * D, (idx[b] + 1) * D);

for (const be of [ref, ...wasmBackends()]) {
  describe(`augment ${be.name}`, () => {
    it('no translation, rotation or zoom copies the images; flip alone mirrors exactly the drawn ones', () => {
      const got = run(be, off, 7);
      idx.forEach((_, b) => expect(got.subarray(b * D, (b + 1) * D)).toEqual(source(b)));
      const flipped = run(be, { ...off, flip: true }, 7);
      let mirrored = 0;
      idx.forEach((_, b) => {
        const src = source(b);
        const want = augmentDraw(7, b, { ...off, flip: true }).mirror
          ? src.map((_, i) => src[i - (i % W) + (W - 1 - (i % W))]) : src;
        if (want !== src) mirrored++;
        expect(flipped.subarray(b * D, (b + 1) * D)).toEqual(want);
      });
      expect(mirrored).toBeGreaterThan(0);
      expect(mirrored).toBeLessThan(idx.length);
    });

    it('matches the TS twin (at most one level apart, on rounding ties of cos/sin)', () => {
      const got = run(be, all, 1234), want = run(ref, all, 1234);
      let far = 0;
      for (let i = 0; i < got.length; i++) if (Math.abs(got[i] - want[i]) > 1) far++;
      expect(far).toBe(0);
      expect(got).not.toEqual(run(be, off, 1234)); // it did move something
    });
  });
}

describe('augment threads and seeds', () => {
  it('1, 2 and 3 threads give the same bytes; another seed other maps', () => {
    const big = Array.from({ length: 64 }, (_, i) => (i * 5) % N);
    const outs = [1, 2, 3].map((threads) => {
      const be = new WasmBackend('simd', 16 << 20, threads);
      const out = be.u8(big.length * D);
      be.augmentBatch(out, putU8(be, images), putI32(be, big), big.length, [C, H, W], all, 99);
      const copy = out.slice();
      be.augmentBatch(out, putU8(be, images), putI32(be, big), big.length, [C, H, W], all, 100);
      expect(out).not.toEqual(copy);
      be.dispose();
      return copy;
    });
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[2]).toEqual(outs[0]);
  });

  it('draws stay within the ranges', () => {
    for (let b = 0; b < 200; b++) {
      const d = augmentDraw(3, b, all);
      expect(Math.abs(d.tx)).toBeLessThanOrEqual(2);
      expect(Math.abs(d.theta)).toBeLessThanOrEqual(15 * Math.PI / 180);
      expect(Math.abs(d.s - 1)).toBeLessThanOrEqual(0.15);
    }
  });
});

describe('--augment', () => {
  it('parses any subset and flip, none is off, and refuses a bad part in one line', () => {
    expect(parseAugment('translate=2,rotate=10,scale=0.1')).toEqual({ translate: 2, rotate: 10, scale: 0.1, flip: false });
    expect(parseAugment('rotate=5,flip')).toEqual({ translate: 0, rotate: 5, scale: 0, flip: true });
    expect(parseAugment('none')).toBeNull();
    expect(() => parseAugment('translate=2,shear=3')).toThrow(FlagError);
    expect(() => parseAugment('translate=x')).toThrow(/'translate=x' is not understood/);
  });
});
