// SIMD helpers shared by the kernels (not exported from the module). Every horizontal sum names
// its order of additions, since the kernels' results depend on it: hsum01_23 is (l0 + l1) +
// (l2 + l3), hsum02_13 is (l0 + l2) + (l1 + l3). Partial loads and stores touch only the first
// n floats, so a row's tail never reads or writes past its end.

/** c + a * b: fused in the relaxed build (f32x4.relaxed_madd), mul then add otherwise. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(c, f32x4.mul(a, b));
  }
}

/** The first n floats at p (n <= 0: none, n >= 4: all four), zeros in the other lanes. */
// @ts-ignore: decorator
@inline export function loadN(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  if (n == 3) return v128.load32_lane(p, v128.load64_zero(p), 2, 8);
  if (n == 2) return v128.load64_zero(p);
  if (n == 1) return v128.load32_zero(p);
  return f32x4.splat(0);
}

/** Stores the first n lanes of v at p (n <= 0: none, n >= 4: all four). */
// @ts-ignore: decorator
@inline export function storeN(p: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(p, v);
  } else if (n == 3) {
    v128.store64_lane(p, v, 0);
    v128.store32_lane(p, v, 2, 8);
  } else if (n == 2) {
    v128.store64_lane(p, v, 0);
  } else if (n == 1) {
    v128.store32_lane(p, v, 0);
  }
}

/** Stores the first n (1..8) of the 8 values in v0,v1 at p. */
// @ts-ignore: decorator
@inline export function store8(p: usize, v0: v128, v1: v128, n: i32): void {
  if (n >= 8) { v128.store(p, v0); v128.store(p, v1, 16); }
  else if (n >= 4) { v128.store(p, v0); storeN(p + 16, v1, n - 4); }
  else storeN(p, v0, n);
}

/** Sum of the four lanes as (l0 + l1) + (l2 + l3), in scalar adds. */
// @ts-ignore: decorator
@inline export function hsum01_23(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Largest lane (NaN if any lane is NaN). */
// @ts-ignore: decorator
@inline export function hmax4(v: v128): f32 {
  const m = f32x4.max(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.max(m, i32x4.shuffle(m, m, 1, 0, 3, 2)), 0);
}

/** Sum of the four lanes as (l0 + l2) + (l1 + l3), in two vector adds. */
// @ts-ignore: decorator
@inline export function hsum02_13(v: v128): f32 {
  const s = f32x4.add(v, i32x4.shuffle(v, v, 2, 3, 0, 1));
  return f32x4.extract_lane(f32x4.add(s, i32x4.shuffle(s, s, 1, 0, 3, 2)), 0);
}

// ---- 4x4 transpose (gemm's packing, the sparse layer's weight transposes) ----

/** Lanes (x0,y0,x1,y1) and (x2,y2,x3,y3): the two halves of a 4x4 transpose's first stage. */
// @ts-ignore: decorator
@inline function lo(x: v128, y: v128): v128 { return v128.shuffle<i32>(x, y, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline function hi(x: v128, y: v128): v128 { return v128.shuffle<i32>(x, y, 2, 6, 3, 7); }
// @ts-ignore: decorator
@inline function lo64(x: v128, y: v128): v128 { return v128.shuffle<i64>(x, y, 0, 2); }
// @ts-ignore: decorator
@inline function hi64(x: v128, y: v128): v128 { return v128.shuffle<i64>(x, y, 1, 3); }

/**
 * Transposes the 4x4 block whose rows start at r0..r3 (4 floats each) and stores its columns
 * at dst, dst+step, dst+2*step, dst+3*step.
 */
// @ts-ignore: decorator
@inline export function transpose4(dst: usize, step: usize, r0: usize, r1: usize, r2: usize, r3: usize): void {
  const x0 = v128.load(r0), x1 = v128.load(r1), x2 = v128.load(r2), x3 = v128.load(r3);
  const t0 = lo(x0, x1), t1 = lo(x2, x3), t2 = hi(x0, x1), t3 = hi(x2, x3);
  v128.store(dst, lo64(t0, t1));
  v128.store(dst + step, hi64(t0, t1));
  v128.store(dst + 2 * step, lo64(t2, t3));
  v128.store(dst + 3 * step, hi64(t2, t3));
}
