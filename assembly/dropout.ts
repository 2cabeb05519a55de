// Inverted dropout with a counter-based mask (SIMD, with a naive scalar twin).
// inp, out, mask, dout, dinp are (N) f32. Unit i is kept when the 24-bit draw
//   hash32(seed + i * 0x9e3779b9) >>> 8  >=  floor(p * 2^24)
// and its mask is f32(1 / (1 - p)), else 0; out = inp * mask. The draw depends only on
// (seed, i), so this kernel, its scalar twin, the TS reference (src/engine/ref/dropout.ts) and any
// thread split give bit-identical masks. p arrives as f64 so the threshold and scale are
// computed from the same value as in the reference (an f32 p would move floor(p * 2^24) for
// p = 0.3, for example).

const GOLDEN: u32 = 0x9e3779b9;

/** lowbias32 (Chris Wellons, hash-prospector) on four lanes; i32x4.mul keeps the low 32 bits. */
// @ts-ignore: decorator
@inline function hash4(x: v128): v128 {
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(<i32>0x846ca68b));
  return v128.xor(x, i32x4.shr_u(x, 16));
}

// @ts-ignore: decorator
@inline function hash32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  return x ^ (x >>> 16);
}

/** mask(N) = 0 or 1/(1-p) from hash(seed, i); out(N) = inp(N) * mask. out may alias inp. */
export function dropout_forward(out: usize, mask: usize, inp: usize, N: i32, p: f64, seed: u32): void {
  const threshold = <i32>Math.floor(p * 16777216);
  const scale = <f32>(1 / (1 - p));
  const thr = i32x4.splat(threshold);
  const sv = f32x4.splat(scale);
  // counters seed + i * GOLDEN for lanes i .. i+3 (wrapping u32 arithmetic)
  let ctr = i32x4.add(i32x4.splat(seed), i32x4.mul(i32x4(0, 1, 2, 3), i32x4.splat(GOLDEN)));
  const stepv = i32x4.splat(GOLDEN * 4);
  const n = <usize>N << 2;
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    const draw = i32x4.shr_u(hash4(ctr), 8); // 24 bits: a signed compare is exact
    const mv = v128.and(sv, i32x4.ge_s(draw, thr));
    v128.store(mask + i, mv);
    v128.store(out + i, f32x4.mul(v128.load(inp + i), mv));
    ctr = i32x4.add(ctr, stepv);
  }
  for (; i < n; i += 4) {
    const draw = hash32(seed + <u32>(i >> 2) * GOLDEN) >>> 8;
    const mi: f32 = <i32>draw >= threshold ? scale : 0;
    store<f32>(mask + i, mi);
    store<f32>(out + i, load<f32>(inp + i) * mi);
  }
}

/** dinp(N) = dout(N) * mask(N); dinp may alias dout. */
export function dropout_backward(dinp: usize, dout: usize, mask: usize, N: i32): void {
  const n = <usize>N << 2;
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) v128.store(dinp + i, f32x4.mul(v128.load(dout + i), v128.load(mask + i)));
  for (; i < n; i += 4) store<f32>(dinp + i, load<f32>(dout + i) * load<f32>(mask + i));
}

/** Scalar twin of dropout_forward. */
export function dropout_forward_scalar(out: usize, mask: usize, inp: usize, N: i32, p: f64, seed: u32): void {
  const threshold = <i32>Math.floor(p * 16777216);
  const scale = <f32>(1 / (1 - p));
  for (let i = 0; i < N; i++) {
    const o = <usize>i << 2;
    const keep = <i32>(hash32(seed + <u32>i * GOLDEN) >>> 8) >= threshold;
    const mi: f32 = keep ? scale : 0;
    store<f32>(mask + o, mi);
    store<f32>(out + o, load<f32>(inp + o) * mi);
  }
}

/** Scalar twin of dropout_backward. */
export function dropout_backward_scalar(dinp: usize, dout: usize, mask: usize, N: i32): void {
  for (let i = 0; i < N; i++) {
    const o = <usize>i << 2;
    store<f32>(dinp + o, load<f32>(dout + o) * load<f32>(mask + o));
  }
}
