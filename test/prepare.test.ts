// Each preparation step on synthetic images whose answer is known by construction.
import { describe, expect, it } from 'vitest';
import {
  borderMedian, boundingBox, paperStats, centerByMass, centerOfMass, crop, FIT, FRAME, inkIsDark, invert,
  NoInkError, normalize, otsuThreshold, prepareDigit, removeSpecks, resizeArea, scaleToFit,
  shrinkRgba, suppressBackground, toBytes, toGray, type GrayImage,
} from '../src/infer/prepare.js';
import type { RgbaImage } from '../src/infer/decode.js';
import { Rng } from '../src/util/rng.js';

/** A W x H gray image of `bg` with rectangles [x, y, w, h, value] painted on it. */
function gray(W: number, H: number, bg: number, rects: number[][] = [], noise = 0, seed = 1): GrayImage {
  const rng = new Rng(seed);
  const data = new Float32Array(W * H);
  for (let i = 0; i < data.length; i++) data[i] = Math.max(0, Math.min(255, bg + (rng.float() * 2 - 1) * noise));
  for (const [x, y, w, h, v] of rects) {
    for (let j = y; j < y + h; j++) for (let i = x; i < x + w; i++) data[j * W + i] = v;
  }
  return { width: W, height: H, data };
}

function rgba(W: number, H: number, px: (x: number, y: number) => [number, number, number, number]): RgbaImage {
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set(px(x, y), (y * W + x) * 4);
  return { width: W, height: H, data };
}

const sum = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0);

describe('toGray', () => {
  it('weights channels by BT.601 luminance', () => {
    const g = toGray(rgba(3, 1, (x) => (x === 0 ? [255, 0, 0, 255] : x === 1 ? [0, 255, 0, 255] : [0, 0, 255, 255])));
    expect(g.data[0]).toBeCloseTo(0.299 * 255, 3);
    expect(g.data[1]).toBeCloseTo(0.587 * 255, 3);
    expect(g.data[2]).toBeCloseTo(0.114 * 255, 3);
  });
  it('composites transparency over white', () => {
    const g = toGray(rgba(3, 1, (x) => (x === 0 ? [0, 0, 0, 0] : x === 1 ? [0, 0, 0, 128] : [0, 0, 0, 255])));
    expect(g.data[0]).toBe(255);
    expect(g.data[1]).toBeCloseTo(255 * (1 - 128 / 255), 3);
    expect(g.data[2]).toBe(0);
  });
});

describe('ink polarity and inversion', () => {
  it('finds dark ink on white paper', () => {
    expect(inkIsDark(gray(40, 30, 250, [[10, 8, 6, 14, 10]]))).toBe(true);
  });
  it('finds bright ink on a black board', () => {
    expect(inkIsDark(gray(40, 30, 5, [[10, 8, 6, 14, 240]]))).toBe(false);
  });
  it('finds black ink on mid-gray paper (no fixed 127 cut)', () => {
    expect(inkIsDark(gray(40, 30, 110, [[10, 8, 6, 14, 5]], 6))).toBe(true);
  });
  it('finds white chalk on a mid-gray board', () => {
    expect(inkIsDark(gray(40, 30, 100, [[10, 8, 6, 14, 250]], 6))).toBe(false);
  });
  it('uses the border for the paper level even when ink covers most of the interior', () => {
    const g = gray(20, 20, 240, [[1, 1, 18, 18, 20]]);
    expect(borderMedian(g)).toBe(240);
    expect(inkIsDark(g)).toBe(true);
  });
  it('finds small dark ink in heavy paper noise', () => {
    // Ink covers 1% of the picture; the paper's noise (+-24) is wider than Otsu can ignore.
    expect(inkIsDark(gray(200, 150, 190, [[90, 60, 10, 30, 40]], 24, 5))).toBe(true);
    expect(inkIsDark(gray(200, 150, 60, [[90, 60, 10, 30, 220]], 24, 5))).toBe(false);
  });
  it('invert maps v to 255 - v', () => {
    expect(Array.from(invert(gray(2, 1, 0, [[1, 0, 1, 1, 55]])).data)).toEqual([255, 200]);
  });
});

describe('suppressBackground', () => {
  it('puts a noisy background on exact 0 and the ink at 255', () => {
    const g = gray(50, 40, 40, [[20, 10, 8, 16, 220]], 12, 7);
    const out = suppressBackground(g);
    for (let y = 0; y < 40; y++) {
      for (let x = 0; x < 50; x++) {
        const inside = x >= 20 && x < 28 && y >= 10 && y < 26;
        expect(out.data[y * 50 + x]).toBe(inside ? 255 : 0);
      }
    }
  });
  it('cuts heavy noise around a small digit (Otsu alone would split the noise)', () => {
    const g = gray(200, 150, 60, [[90, 60, 10, 30, 220]], 24, 5);
    const out = suppressBackground(g);
    expect(boundingBox(out)).toEqual({ x0: 90, y0: 60, x1: 99, y1: 89 });
  });
  it('keeps anti-aliased edges as intermediate values', () => {
    const g = gray(40, 40, 0, [[10, 10, 10, 10, 255], [20, 10, 1, 10, 160]]);
    const out = suppressBackground(g);
    expect(out.data[15 * 40 + 15]).toBe(255);
    expect(out.data[15 * 40 + 20]).toBeCloseTo(160, 0);
  });
  it('measures the paper level and noise from the border', () => {
    const p = paperStats(gray(100, 100, 128, [], 20, 9));
    expect(Math.abs(p.level - 128)).toBeLessThan(2);
    expect(Math.abs(p.noise - 1.4826 * 10)).toBeLessThan(1.5); // uniform +-20: median |deviation| is 10
  });
  it('refuses a blank image: no ink', () => {
    expect(() => suppressBackground(gray(30, 30, 0))).toThrow(NoInkError);
    expect(() => suppressBackground(gray(30, 30, 0))).toThrow(/no ink/);
  });
  it('refuses pure noise: nothing stands out', () => {
    expect(() => suppressBackground(gray(60, 60, 20, [], 10, 3))).toThrow(/no ink/);
  });
});

describe('removeSpecks', () => {
  it('drops a speck far from the digit and keeps the digit', () => {
    const g = gray(60, 60, 0, [[20, 20, 10, 20, 255], [55, 2, 1, 1, 255]]);
    const out = removeSpecks(g);
    expect(out.data[2 * 60 + 55]).toBe(0);
    expect(sum(out.data)).toBe(200 * 255);
  });
  it('keeps two large strokes that do not touch', () => {
    const g = gray(60, 60, 0, [[10, 10, 5, 30, 255], [30, 10, 5, 20, 255]]);
    expect(sum(removeSpecks(g).data)).toBe(sum(g.data));
  });
});

describe('boundingBox and crop', () => {
  it('finds the inclusive box of the ink', () => {
    const g = gray(50, 40, 0, [[7, 5, 10, 3, 200], [12, 20, 2, 9, 90]]);
    expect(boundingBox(g)).toEqual({ x0: 7, y0: 5, x1: 16, y1: 28 });
    const c = crop(g, { x0: 7, y0: 5, x1: 16, y1: 28 });
    expect([c.width, c.height]).toEqual([10, 24]);
    expect(sum(c.data)).toBe(sum(g.data));
  });
  it('is null for an all-black image', () => {
    expect(boundingBox(gray(5, 5, 0))).toBeNull();
  });
});

describe('scaleToFit (area averaging)', () => {
  it('fits the longer side to 20 and keeps the aspect ratio', () => {
    const tall = scaleToFit(gray(50, 100, 255));
    expect([tall.width, tall.height]).toEqual([10, 20]);
    const wide = scaleToFit(gray(90, 30, 255));
    expect([wide.width, wide.height]).toEqual([20, 7]);
  });
  it('averages areas: a 1-pixel checkerboard halves to flat gray, mass scales with area', () => {
    const W = 40;
    const g: GrayImage = { width: W, height: W, data: new Float32Array(W * W).map((_, i) => (((i % W) + Math.floor(i / W)) % 2) * 255) };
    const out = scaleToFit(g);
    for (const v of out.data) expect(v).toBeCloseTo(127.5, 3);
    expect(sum(out.data)).toBeCloseTo(sum(g.data) / 4, 0);
  });
  it('blends a fractional edge (a 3-pixel bar into 2 outputs covers 1.5 each)', () => {
    const out = resizeArea({ width: 3, height: 1, data: new Float32Array([255, 255, 0]) }, 2, 1);
    expect(out.data[0]).toBeCloseTo(255, 3);
    expect(out.data[1]).toBeCloseTo(85, 3);
  });
  it('enlarges a small digit up to the box too', () => {
    const out = scaleToFit(gray(4, 8, 200));
    expect([out.width, out.height]).toEqual([10, 20]);
    for (const v of out.data) expect(v).toBeCloseTo(200, 3);
  });
  it('shrinkRgba composites over white and averages', () => {
    const img = rgba(4, 2, (x) => (x < 2 ? [0, 0, 0, 255] : [0, 0, 0, 0]));
    const s = shrinkRgba(img, 2, 1);
    expect(Array.from(s.data)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
  });
});

describe('centerByMass', () => {
  it('puts a single bright pixel at (14, 14) of the 28x28 frame', () => {
    for (const [x, y] of [[0, 0], [19, 3], [7, 12]]) {
      const g = gray(20, 20, 0, [[x, y, 1, 1, 255]]);
      const out = centerByMass(g);
      expect([out.width, out.height]).toEqual([FRAME, FRAME]);
      const c = centerOfMass(out)!;
      // Clamping keeps the 20x20 inside the frame: the pixel lands as close to 14 as allowed.
      expect(c.x).toBe(Math.min(Math.max(14, x), x + 8));
      expect(c.y).toBe(Math.min(Math.max(14, y), y + 8));
    }
  });
  it('centres a lopsided shape by its mass, not its box', () => {
    const g = gray(12, 20, 0, [[0, 0, 12, 20, 40], [0, 0, 3, 20, 255]]);
    const c = centerOfMass(centerByMass(g))!;
    expect(Math.abs(c.x - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(c.y - 14)).toBeLessThanOrEqual(0.5);
  });
});

describe('normalize and toBytes', () => {
  it('applies u8 * scale + shift', () => {
    const out = normalize(new Float32Array(3), new Uint8Array([0, 128, 255]), 1 / 255, -0.5);
    expect(Array.from(out)).toEqual([0 * (1 / 255) - 0.5, 128 * (1 / 255) - 0.5, 255 * (1 / 255) - 0.5].map(Math.fround));
  });
  it('rounds and clamps to u8', () => {
    expect(Array.from(toBytes({ width: 3, height: 1, data: new Float32Array([-3, 127.6, 300]) }))).toEqual([0, 128, 255]);
  });
});

describe('prepareDigit (the whole recipe)', () => {
  it('turns a dark bar on a large light canvas into a centred 20-pixel-tall bright bar', () => {
    // A 12x60 dark bar at (150, 30) on a 300x200 off-white canvas.
    const img = rgba(300, 200, (x, y) => (x >= 150 && x < 162 && y >= 30 && y < 90 ? [20, 20, 30, 255] : [245, 240, 235, 255]));
    const p = prepareDigit(img);
    expect(p.inverted).toBe(true);
    expect(p.box).toEqual({ x0: 150, y0: 30, x1: 161, y1: 89 });
    const g: GrayImage = { width: 28, height: 28, data: Float32Array.from(p.pixels) };
    const b = boundingBox(g)!;
    expect(b.y1 - b.y0 + 1).toBe(FIT);
    expect(b.x1 - b.x0 + 1).toBe(4);
    const c = centerOfMass(g)!;
    expect(Math.abs(c.x - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(c.y - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...p.pixels)).toBe(255);
  });
  it('says so when there is no ink', () => {
    expect(() => prepareDigit(rgba(64, 64, () => [255, 255, 255, 255]))).toThrow(NoInkError);
    expect(() => prepareDigit(rgba(64, 64, () => [0, 0, 0, 0]))).toThrow(/no ink/);
  });
  it('keeps an MNIST-like 28x28 input (bright on black) about as it was', () => {
    // A 20-tall, 10-wide bar with its centre of mass at (14.5, 14.5): the recipe leaves it there.
    const img = rgba(28, 28, (x, y) => (x >= 10 && x < 20 && y >= 5 && y < 25 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    const p = prepareDigit(img);
    expect(p.inverted).toBe(false);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
      expect(p.pixels[y * 28 + x]).toBe(img.data[(y * 28 + x) * 4]);
    }
  });
});
