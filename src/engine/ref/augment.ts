// Reference augmentation: one random affine map per image, bilinear, 0 outside (the kernel's
// header, assembly/augment.ts, states the draws and the map). Image b's map is a pure function of
// (seed, b), so the kernel and any split of the batch draw the same maps.
import type { AugmentOptions } from '../backend.js';
import { hash32 } from './dropout.js';

const GOLDEN = 0x9e3779b9;

/** The k-th 24-bit uniform in [0, 1) of the image whose hash is h. */
function uniform(h: number, k: number): number {
  return (hash32((h + Math.imul(k + 1, GOLDEN)) >>> 0) >>> 8) / 16777216;
}

/** Image b's map: shift (pixels), angle (radians), zoom, mirror. */
export function augmentDraw(seed: number, b: number, o: AugmentOptions) {
  const h = hash32((seed + Math.imul(b, GOLDEN)) >>> 0);
  return {
    tx: (2 * uniform(h, 0) - 1) * o.translate,
    ty: (2 * uniform(h, 1) - 1) * o.translate,
    theta: (2 * uniform(h, 2) - 1) * (o.rotate * Math.PI / 180),
    s: 1 + (2 * uniform(h, 3) - 1) * o.scale,
    mirror: o.flip && uniform(h, 4) >= 0.5,
  };
}

export function augmentBatch(out: Uint8Array, images: Uint8Array, idx: Int32Array, B: number,
  shape: [number, number, number], opts: AugmentOptions, seed: number): void {
  const [C, H, W] = shape;
  const D = C * H * W;
  const cx = (W - 1) / 2, cy = (H - 1) / 2;
  for (let b = 0; b < B; b++) {
    const { tx, ty, theta, s, mirror } = augmentDraw(seed, b, opts);
    const a = Math.cos(theta) / s, e = Math.sin(theta) / s;
    const src = idx[b] * D;
    const at = (c: number, x: number, y: number) => x >= 0 && x < W && y >= 0 && y < H ? images[src + (c * H + y) * W + x] : 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const u = x - cx - tx, v = y - cy - ty;
        let sx = a * u + e * v + cx;
        const sy = -e * u + a * v + cy;
        if (mirror) sx = W - 1 - sx;
        const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
        for (let c = 0; c < C; c++) {
          const val = (1 - fy) * ((1 - fx) * at(c, x0, y0) + fx * at(c, x0 + 1, y0)) +
            fy * ((1 - fx) * at(c, x0, y0 + 1) + fx * at(c, x0 + 1, y0 + 1));
          out[b * D + (c * H + y) * W + x] = Math.min(255, Math.floor(val + 0.5));
        }
      }
    }
  }
}
