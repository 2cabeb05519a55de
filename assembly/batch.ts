// Batch preparation: gather the shuffled rows of the u8 dataset and normalize them to f32.
// images is (N,D) u8 and labels (N) u8, kept as loaded; idx is (B) i32 row numbers;
// x is (B,D) f32 and y (B) i32. x[b,d] = images[idx[b],d] * scale + shift, y[b] = labels[idx[b]].
// gather_batch_channels normalizes each of C planes (rows are C x H x W, D = C*P) with its own
// scale and shift: norm is (C,2) f32, x[b, c*P + p] = images[idx[b], c*P + p] * norm[c,0] + norm[c,1].
// See src/engine/ref/batch.ts.

/** Rows gathered together: the number of independent memory streams kept in flight. */
const GROUP = 8;

/**
 * x(B,D) = images[idx[b]] * scale + shift (u8 -> f32), y(B) = labels[idx[b]].
 * Shuffled rows lie scattered over the dataset (beyond the caches for MNIST), so copying one row
 * at a time waits on each row's first cache misses; 8 rows at once keep 8 streams in flight. Rows
 * that follow each other in memory (a full batch, in order) are one stream already and go row by
 * row, where interleaving them would only split that stream.
 */
export function gather_batch(x: usize, y: usize, images: usize, labels: usize, idx: usize, B: i32,
  D: i32, scale: f32, shift: f32): void {
  // x*scale + 0 is x*scale when no product is -0 (scale > 0): skip the add, a fifth of the work
  if (shift == 0 && scale > 0) gather<bool>(x, y, images, labels, idx, B, D, D, scale, shift);
  else gather<f32>(x, y, images, labels, idx, B, D, D, scale, shift);
}

/**
 * gather_batch with a scale and shift per channel: one gather per plane, each a column range
 * [c*P, (c+1)*P) of the rows (the labels are written once per plane, the same values).
 */
export function gather_batch_channels(x: usize, y: usize, images: usize, labels: usize, idx: usize, B: i32,
  D: i32, C: i32, norm: usize): void {
  const P = D / C;
  for (let c = 0; c < C; c++) {
    const o = <usize>(c * P);
    gather<f32>(x + (o << 2), y, images + o, labels, idx, B, P, D, load<f32>(norm + (<usize>c << 3)), load<f32>(norm + (<usize>c << 3), 4));
  }
}

/**
 * gather_batch over columns [0, D) of rows `stride` values apart (in images and in x); Plain =
 * bool compiles the copy without the add of shift.
 */
function gather<Plain>(x: usize, y: usize, images: usize, labels: usize, idx: usize, B: i32,
  D: i32, stride: i32, scale: f32, shift: f32): void {
  const plain = isBoolean<Plain>();
  const sv = f32x4.splat(scale);
  const hv = f32x4.splat(shift);
  const d = <usize>D;
  const s = <usize>stride;
  const rowB = s << 2;
  let b = 0;
  for (; b + GROUP <= B; b += GROUP) {
    const ib = idx + (<usize>b << 2);
    const first = load<i32>(ib);
    let inOrder = true;
    for (let i = 1; i < GROUP; i++) inOrder = inOrder && load<i32>(ib + (<usize>i << 2)) == first + i;
    if (inOrder) {
      for (let i = 0; i < GROUP; i++) gatherRow(x, y, images, labels, first + i, b + i, d, s, sv, hv, scale, shift, plain);
      continue;
    }
    const s0 = images + <usize>load<i32>(ib) * s, s1 = images + <usize>load<i32>(ib, 4) * s;
    const s2 = images + <usize>load<i32>(ib, 8) * s, s3 = images + <usize>load<i32>(ib, 12) * s;
    const s4 = images + <usize>load<i32>(ib, 16) * s, s5 = images + <usize>load<i32>(ib, 20) * s;
    const s6 = images + <usize>load<i32>(ib, 24) * s, s7 = images + <usize>load<i32>(ib, 28) * s;
    const o0 = x + <usize>b * rowB;
    let j: usize = 0;
    for (; j + 16 <= d; j += 16) {
      const o = o0 + (j << 2);
      convert16(o, s0 + j, sv, hv, plain); convert16(o + rowB, s1 + j, sv, hv, plain);
      convert16(o + 2 * rowB, s2 + j, sv, hv, plain); convert16(o + 3 * rowB, s3 + j, sv, hv, plain);
      convert16(o + 4 * rowB, s4 + j, sv, hv, plain); convert16(o + 5 * rowB, s5 + j, sv, hv, plain);
      convert16(o + 6 * rowB, s6 + j, sv, hv, plain); convert16(o + 7 * rowB, s7 + j, sv, hv, plain);
    }
    for (let i = 0; i < GROUP; i++) {
      const row = <usize>load<i32>(ib + (<usize>i << 2));
      rowTail(o0 + <usize>i * rowB, images + row * s, j, d, sv, hv, scale, shift, plain);
      store<i32>(y + (<usize>(b + i) << 2), <i32>load<u8>(labels + row));
    }
  }
  for (; b < B; b++) gatherRow(x, y, images, labels, load<i32>(idx + (<usize>b << 2)), b, d, s, sv, hv, scale, shift, plain);
}

/** Columns [0, d) of row `row` of the dataset into row b of x (and its label into y[b]). */
// @ts-ignore: decorator
@inline function gatherRow(x: usize, y: usize, images: usize, labels: usize, row: i32, b: i32, d: usize, s: usize,
  sv: v128, hv: v128, scale: f32, shift: f32, plain: bool): void {
  const src = images + <usize>row * s;
  const dst = x + <usize>b * (s << 2);
  let j: usize = 0;
  for (; j + 16 <= d; j += 16) convert16(dst + (j << 2), src + j, sv, hv, plain);
  rowTail(dst, src, j, d, sv, hv, scale, shift, plain);
  store<i32>(y + (<usize>b << 2), <i32>load<u8>(labels + <usize>row));
}

/** 16 pixels: widen u8 -> u16 -> u32 (zero extension), convert, then x*scale+shift. */
// @ts-ignore: decorator
@inline function convert16(dst: usize, src: usize, sv: v128, hv: v128, plain: bool): void {
  const px = v128.load(src);
  const lo = i16x8.extend_low_i8x16_u(px);
  const hi = i16x8.extend_high_i8x16_u(px);
  v128.store(dst, norm4(i32x4.extend_low_i16x8_u(lo), sv, hv, plain));
  v128.store(dst, norm4(i32x4.extend_high_i16x8_u(lo), sv, hv, plain), 16);
  v128.store(dst, norm4(i32x4.extend_low_i16x8_u(hi), sv, hv, plain), 32);
  v128.store(dst, norm4(i32x4.extend_high_i16x8_u(hi), sv, hv, plain), 48);
}

/** Pixels [j, d) of one row: 4 at a time (load32_zero, widen the low lanes), then one by one. */
// @ts-ignore: decorator
@inline function rowTail(dst: usize, src: usize, j: usize, d: usize, sv: v128, hv: v128, scale: f32,
  shift: f32, plain: bool): void {
  for (; j + 4 <= d; j += 4) {
    const px = v128.load32_zero(src + j);
    const q = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(px));
    v128.store(dst + (j << 2), norm4(q, sv, hv, plain));
  }
  for (; j < d; j++) store<f32>(dst + (j << 2), plain ? <f32>load<u8>(src + j) * scale : <f32>load<u8>(src + j) * scale + shift);
}

// @ts-ignore: decorator
@inline function norm4(q: v128, sv: v128, hv: v128, plain: bool): v128 {
  // Pixels are 0..255, so the signed convert (one x64 instruction; the unsigned one is about
  // seven) gives the same floats: the gather takes half the time.
  const v = f32x4.mul(f32x4.convert_i32x4_s(q), sv);
  return plain ? v : f32x4.add(v, hv);
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

/** Scalar twin of gather_batch_channels: one pixel at a time. */
export function gather_batch_channels_scalar(x: usize, y: usize, images: usize, labels: usize, idx: usize, B: i32,
  D: i32, C: i32, norm: usize): void {
  const P = D / C;
  for (let b = 0; b < B; b++) {
    const row = load<i32>(idx + (<usize>b << 2));
    for (let j = 0; j < D; j++) {
      const c = <usize>(j / P);
      const px = load<u8>(images + <usize>row * <usize>D + <usize>j);
      store<f32>(x + ((<usize>b * <usize>D + <usize>j) << 2), <f32>px * load<f32>(norm + (c << 3)) + load<f32>(norm + (c << 3), 4));
    }
    store<i32>(y + (<usize>b << 2), <i32>load<u8>(labels + <usize>row));
  }
}
