// Data augmentation on u8 images: one random affine map per image, bilinear, zero outside.
//   out(B, C*H*W) u8 = warp(images[idx[b]]), images (N, C*H*W) u8, channels first.
// Image b of the call (b0 + b of the whole batch) draws its map from h = hash32(seed + (b0+b) G)
// (G the golden-ratio constant, as dropout): five 24-bit uniforms r_k = hash32(h + (k+1) G) >> 8,
//   tx = (2 r0 - 1) translate, ty = (2 r1 - 1) translate        (pixels)
//   theta = (2 r2 - 1) rotate                                   (radians)
//   s = 1 + (2 r3 - 1) scale,  mirrored when flip and r4 >= 1/2
// Output pixel (x, y) reads the source at p = R(-theta) (x - cx - tx, y - cy - ty) / s + (cx, cy),
// cx = (W-1)/2, cy = (H-1)/2, then x -> W-1-x when mirrored; bilinear over the four neighbours
// (a neighbour outside the image counts 0), rounded half up and clamped to 255. All in f64.
// The map depends only on (seed, b0 + b), so any split of the batch by images gives the same bytes.
// Bilinear reads are gathers, which 128-bit SIMD has no instruction for: the kernel is scalar, and
// the `_scalar` export is the same function (the TS twin, src/engine/ref/augment.ts, is the oracle).

const GOLDEN: u32 = 0x9e3779b9;

// @ts-ignore: decorator
@inline function hash32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  return x ^ (x >>> 16);
}

// @ts-ignore: decorator
@inline function uniform(h: u32, k: u32): f64 {
  return <f64>(hash32(h + (k + 1) * GOLDEN) >>> 8) / 16777216.0;
}

// @ts-ignore: decorator
@inline function px(src: usize, W: i32, H: i32, x: i32, y: i32): f64 {
  return x >= 0 && x < W && y >= 0 && y < H ? <f64>load<u8>(src + <usize>(y * W + x)) : 0;
}

/** Warps images idx[0..B) into out (see the header); rotate in radians. */
export function augment_batch(out: usize, images: usize, idx: usize, B: i32, C: i32, H: i32, W: i32,
  translate: f64, rotate: f64, scale: f64, flip: bool, seed: u32, b0: i32): void {
  const plane = H * W;
  const D = C * plane;
  const cx = <f64>(W - 1) / 2, cy = <f64>(H - 1) / 2;
  for (let b = 0; b < B; b++) {
    const h = hash32(seed + <u32>(b0 + b) * GOLDEN);
    const tx = (2 * uniform(h, 0) - 1) * translate;
    const ty = (2 * uniform(h, 1) - 1) * translate;
    const th = (2 * uniform(h, 2) - 1) * rotate;
    const s = 1 + (2 * uniform(h, 3) - 1) * scale;
    const mirror = flip && uniform(h, 4) >= 0.5;
    const a = Math.cos(th) / s, e = Math.sin(th) / s;
    const src0 = images + <usize>load<i32>(idx + (<usize>b << 2)) * <usize>D;
    const dst0 = out + <usize>b * <usize>D;
    for (let y = 0; y < H; y++) {
      const v = <f64>y - cy - ty;
      for (let x = 0; x < W; x++) {
        const u = <f64>x - cx - tx;
        let sx = a * u + e * v + cx;
        const sy = -e * u + a * v + cy;
        if (mirror) sx = <f64>(W - 1) - sx;
        const fx0 = Math.floor(sx), fy0 = Math.floor(sy);
        const fx = sx - fx0, fy = sy - fy0;
        const x0 = <i32>fx0, y0 = <i32>fy0;
        // far outside: 0 without converting huge values to i32
        const inside = fx0 > -2 && fx0 < <f64>W && fy0 > -2 && fy0 < <f64>H;
        for (let c = 0; c < C; c++) {
          let val: f64 = 0;
          if (inside) {
            const src = src0 + <usize>(c * plane);
            val = (1 - fy) * ((1 - fx) * px(src, W, H, x0, y0) + fx * px(src, W, H, x0 + 1, y0)) +
              fy * ((1 - fx) * px(src, W, H, x0, y0 + 1) + fx * px(src, W, H, x0 + 1, y0 + 1));
          }
          store<u8>(dst0 + <usize>(c * plane + y * W + x), <u8>Math.min(255, Math.floor(val + 0.5)));
        }
      }
    }
  }
}

/** The scalar twin is the kernel itself (see the header). */
export function augment_batch_scalar(out: usize, images: usize, idx: usize, B: i32, C: i32, H: i32, W: i32,
  translate: f64, rotate: f64, scale: f64, flip: bool, seed: u32, b0: i32): void {
  augment_batch(out, images, idx, B, C, H, W, translate, rotate, scale, flip, seed, b0);
}
