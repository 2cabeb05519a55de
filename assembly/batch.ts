// Batch preparation: gather the shuffled rows of the u8 dataset and normalize them to f32.
// images is (N,D) u8 and labels (N) u8, kept as loaded; idx is (B) i32 row numbers;
// x is (B,D) f32 and y (B) i32. x[b,d] = images[idx[b],d] * scale + shift, y[b] = labels[idx[b]].
// See src/engine/ref/batch.ts.

/** x(B,D) = images[idx[b]] * scale + shift (u8 -> f32), y(B) = labels[idx[b]]. */
export function gather_batch(x: usize, y: usize, images: usize, labels: usize, idx: usize, B: i32,
  D: i32, scale: f32, shift: f32): void {
  const sv = f32x4.splat(scale);
  const hv = f32x4.splat(shift);
  const d = <usize>D;
  for (let b = 0; b < B; b++) {
    const row = <usize>load<i32>(idx + (<usize>b << 2));
    const src = images + row * d;
    const dst = x + <usize>b * (d << 2);
    let j: usize = 0;
    // 16 pixels per step: widen u8 -> u16 -> u32 (zero extension), convert, then x*scale+shift.
    for (; j + 16 <= d; j += 16) {
      const px = v128.load(src + j);
      const lo = i16x8.extend_low_i8x16_u(px);
      const hi = i16x8.extend_high_i8x16_u(px);
      const o = dst + (j << 2);
      v128.store(o, norm4(i32x4.extend_low_i16x8_u(lo), sv, hv));
      v128.store(o, norm4(i32x4.extend_high_i16x8_u(lo), sv, hv), 16);
      v128.store(o, norm4(i32x4.extend_low_i16x8_u(hi), sv, hv), 32);
      v128.store(o, norm4(i32x4.extend_high_i16x8_u(hi), sv, hv), 48);
    }
    // 4 pixels per step: load32_zero then widen the low lanes.
    for (; j + 4 <= d; j += 4) {
      const px = v128.load32_zero(src + j);
      const q = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(px));
      v128.store(dst + (j << 2), norm4(q, sv, hv));
    }
    for (; j < d; j++) store<f32>(dst + (j << 2), <f32>load<u8>(src + j) * scale + shift);
    store<i32>(y + (<usize>b << 2), <i32>load<u8>(labels + row));
  }
}

// @ts-ignore: decorator
@inline function norm4(q: v128, sv: v128, hv: v128): v128 {
  // Pixels are 0..255, so the signed convert (one x64 instruction; the unsigned one is about
  // seven) gives the same floats: the gather takes half the time.
  return f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(q), sv), hv);
}

/** Scalar twin of gather_batch: one pixel at a time. */
export function gather_batch_scalar(x: usize, y: usize, images: usize, labels: usize, idx: usize, B: i32,
  D: i32, scale: f32, shift: f32): void {
  for (let b = 0; b < B; b++) {
    const row = load<i32>(idx + (<usize>b << 2));
    for (let j = 0; j < D; j++) {
      const px = load<u8>(images + <usize>row * <usize>D + <usize>j);
      store<f32>(x + ((<usize>b * <usize>D + <usize>j) << 2), <f32>px * scale + shift);
    }
    store<i32>(y + (<usize>b << 2), <i32>load<u8>(labels + <usize>row));
  }
}
