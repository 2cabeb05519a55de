// A CIFAR-like set of small colour pictures drawn in code, for tests and the folder benchmarks:
// 10 classes = 5 shapes (disc, square, triangle, ring, cross) x 2 hue families (warm, cool), each
// picture with a random position, size, exact hue, ink strength and a noisy background, so a network must look
// at shape and colour together. Written as PNG class folders (pngjs), nothing downloaded.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { Rng } from '../src/util/rng.js';

export const SHAPE_CLASSES = ['disc', 'square', 'triangle', 'ring', 'cross'].flatMap((s) => [`${s}-warm`, `${s}-cool`]);

/**
 * One RGBA picture of class k (0..9), side x side. 'hard' (the benchmark's): smaller shapes, hues
 * that overlap more, ink mixed into the background (faint shapes) and more noise; 'easy' (tests):
 * large opaque shapes a small network learns in a few epochs.
 */
export function drawShape(k: number, side: number, rng: Rng, level: 'easy' | 'hard' = 'easy'): Uint8Array {
  const hard = level === 'hard';
  const shape = Math.floor(k / 2), cool = k % 2 === 1;
  const px = new Uint8Array(side * side * 4);
  const r = side * (hard ? 0.16 + 0.16 * rng.float() : 0.22 + 0.12 * rng.float());
  const spread = hard ? 0.4 : 0.3;
  const cx = side * (0.5 - spread / 2 + spread * rng.float()), cy = side * (0.5 - spread / 2 + spread * rng.float());
  const base = [60 + 140 * rng.float(), 60 + 140 * rng.float(), 60 + 140 * rng.float()];
  const ink = hard
    ? (cool ? [80 * rng.float(), 60 + 160 * rng.float(), 120 + 135 * rng.float()] : [120 + 135 * rng.float(), 160 * rng.float(), 80 * rng.float()])
    : (cool ? [40 * rng.float(), 100 + 155 * rng.float(), 155 + 100 * rng.float()] : [155 + 100 * rng.float(), 100 * rng.float(), 40 * rng.float()]);
  const alpha = hard ? 0.35 + 0.65 * rng.float() : 1;
  const noise = hard ? 120 : 50;
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const dx = x + 0.5 - cx, dy = y + 0.5 - cy, d = Math.hypot(dx, dy);
      const inside = [d < r, Math.abs(dx) < r * 0.8 && Math.abs(dy) < r * 0.8, dy > -r && dy < r * 0.8 && Math.abs(dx) < (dy + r) * 0.55,
        d < r && d > r * 0.55, (Math.abs(dx) < r * 0.25 || Math.abs(dy) < r * 0.25) && Math.abs(dx) < r && Math.abs(dy) < r][shape];
      for (let ch = 0; ch < 3; ch++) {
        const v = inside ? alpha * ink[ch] + (1 - alpha) * base[ch] : base[ch];
        px[(y * side + x) * 4 + ch] = Math.max(0, Math.min(255, Math.round(v + noise * (rng.float() - 0.5))));
      }
      px[(y * side + x) * 4 + 3] = 255;
    }
  }
  return px;
}

/** PNG bytes of an RGBA picture. */
export function encodePng(rgba: Uint8Array, width: number, height: number): Buffer {
  const png = new pngjs.PNG({ width, height });
  png.data = Buffer.from(rgba);
  return pngjs.PNG.sync.write(png);
}

/** Writes `perClass` pictures of each class under dir/<class>/ (PNG, side x side). */
export function writeShapeFolders(dir: string, perClass: number, side: number, seed: number, classes = SHAPE_CLASSES.length,
  level: 'easy' | 'hard' = 'easy'): void {
  const rng = new Rng(seed);
  for (let k = 0; k < classes; k++) {
    mkdirSync(join(dir, SHAPE_CLASSES[k]), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      writeFileSync(join(dir, SHAPE_CLASSES[k], `${String(i).padStart(5, '0')}.png`), encodePng(drawShape(k, side, rng, level), side, side));
    }
  }
}
