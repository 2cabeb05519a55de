// Transcendental functions on f32x4 shared by the kernels: e^x, tanh, sigmoid. WebAssembly SIMD
// has no transcendental instructions, so exp is range reduction + polynomial. Not exported from
// the module; the kernel files import it.

// exp: see Cephes Math Library, expf.c (S. L. Moshier), the same scheme as the SSE/NEON ports
// (sse_mathfun.h by J. Pommier). x = n ln2 + r with n = round(x / ln2), |r| <= ln2/2;
// e^r by a degree-5 minimax polynomial; 2^n built in the exponent bits. Max error about 2 ulp
// over the clamped range.
const EXP_HI: f32 = 88.3762626647949;   // n stays <= 127, so 2^n is a normal f32
const EXP_LO: f32 = -87.3365447505531;  // n stays >= -126
const LOG2E: f32 = 1.44269504088896341;
const ROUND_MAGIC: f32 = 12582912;      // 1.5 * 2^23
const LN2_HI: f32 = 0.693359375;        // ln2 split so n*LN2_HI is exact (Cody-Waite)
const LN2_LO: f32 = -2.12194440e-4;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

/** e^x on four lanes: 0 below EXP_LO, +inf above EXP_HI, NaN stays NaN. */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // pmax/pmin are single maxps/minps on x64 (min/max need a NaN/-0 fix-up sequence as long as the
  // rest of exp); with x as the first operand a NaN x still comes through as NaN.
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  // n = round(xc / ln2) by the 1.5 * 2^23 trick: the sum rounds to an integer (ulp 1 there, ties
  // to even like f32x4.nearest) held in the low mantissa bits, so 2^n needs no float -> int
  // conversion (trunc_sat is about 8 x64 instructions without AVX-512; this is add and sub).
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const n = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(P0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  // e^r = 1 + r + r^2 p(r)
  const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  // bits of t = 0x4b400000 + n; shifted left by 23, the 0x4b400000 falls off: (n + 127) << 23
  const pow2n = i32x4.shl(i32x4.add(t, i32x4.splat(127)), 23);
  let y = f32x4.mul(er, pow2n);
  // Saturate outside the clamped range (the comparisons are false for NaN, which passes through).
  y = v128.bitselect(f32x4.splat(Infinity), y, f32x4.gt(x, f32x4.splat(EXP_HI)));
  return v128.andnot(y, f32x4.lt(x, f32x4.splat(EXP_LO)));
}

// tanh: see Cephes tanhf.c. |x| < 0.625: odd polynomial x + x^3 q(x^2) (no cancellation near 0);
// otherwise 1 - 2 / (e^(2|x|) + 1) with the sign of x put back. Both branches run; select picks.
const T0: f32 = -5.70498872745e-3;
const T1: f32 = 2.06390887954e-2;
const T2: f32 = -5.37397155531e-2;
const T3: f32 = 1.33314422036e-1;
const T4: f32 = -3.33332819422e-1;

/** tanh on four lanes, a few ulp from the correctly rounded value. */
// @ts-ignore: decorator
@inline export function tanh4(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let q = f32x4.splat(T0);
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(T1));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(T2));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(T3));
  q = f32x4.add(f32x4.mul(q, z), f32x4.splat(T4));
  const small = f32x4.add(f32x4.mul(f32x4.mul(q, z), x), x);
  const e = exp4(f32x4.add(ax, ax));
  const big = f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(e, f32x4.splat(1))));
  // copy the sign bit of x onto big (tanh is odd)
  const signed = v128.or(big, v128.and(x, i32x4.splat(<i32>0x80000000)));
  return v128.bitselect(small, signed, f32x4.lt(ax, f32x4.splat(0.625)));
}

/** 1 / (1 + e^-x) on four lanes. */
// @ts-ignore: decorator
@inline export function sigmoid4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}
