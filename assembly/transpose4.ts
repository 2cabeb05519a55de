// The 4x4 transpose that matrix packing (matmul.ts) and the sparse layer's weight transposes
// (sparse.ts) share: four rows of 4 floats loaded as v128s, two stages of shuffles, four columns
// stored. Not exported from the module; the kernel files import it.

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
