// Element-wise activations, forward and backward, as SIMD kernels with naive scalar twins.
// inp, out, dout, dinp, saved are (N) f32; out may alias inp and dinp may alias dout (each vector
// is loaded before it is stored). Backward reads `saved`, the forward's output y = f(x):
//   identity dy/dx = 1, relu y > 0, leaky_relu y > 0 ? 1 : alpha, sigmoid y(1-y), tanh 1-y^2;
// or for gelu its input x (ACTIVATION_SAVES). kind codes are ACTIVATION_CODE in
// src/engine/backend.ts; the formulas are src/engine/ref/activation.ts's.
import { sigmoid4, tanh4 } from './simd_math';

const IDENTITY = 0;
const RELU = 1;
const LEAKY_RELU = 2;
const SIGMOID = 3;
const TANH = 4;
const GELU = 5;

// gelu(x) = x sigmoid(2u), u = c (x + k x^3): GELU_2C = 2c = 2 sqrt(2/pi), GELU_K = k.
const GELU_2C: f32 = 1.5957691216057308;
const GELU_K: f32 = 0.044715;
/** |x| beyond which gelu's s (1 - s) term is 0 in f32; clamping there keeps +-inf from 0 * inf. */
const GELU_CLAMP: f32 = 10;
// gelu(-inf) is its limit 0: the forward's factor x is at least -F32.MAX_VALUE (where s is 0).

/** sigmoid(2u) of gelu on four lanes. */
// @ts-ignore: decorator
@inline function geluS4(x: v128): v128 {
  const x3 = f32x4.mul(f32x4.mul(x, x), x);
  return sigmoid4(f32x4.mul(f32x4.splat(GELU_2C), f32x4.add(x, f32x4.mul(f32x4.splat(GELU_K), x3))));
}

/** gelu'(x) on four lanes: s + xc s (1 - s) 2c (1 + 3k xc^2), xc = x clamped (NaN stays NaN). */
// @ts-ignore: decorator
@inline function geluGrad4(x: v128): v128 {
  const s = geluS4(x);
  const xc = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-GELU_CLAMP)), f32x4.splat(GELU_CLAMP));
  const slope = f32x4.mul(f32x4.splat(GELU_2C),
    f32x4.add(f32x4.splat(1), f32x4.mul(f32x4.splat(3 * GELU_K), f32x4.mul(xc, xc))));
  return f32x4.add(s, f32x4.mul(f32x4.mul(f32x4.mul(xc, s), f32x4.sub(f32x4.splat(1), s)), slope));
}

/** Scalar twin of geluS4. */
function geluS(x: f32): f32 {
  return 1 / (1 + Mathf.exp(-(GELU_2C * (x + GELU_K * (x * x * x)))));
}

/** Scalar twin of geluGrad4. */
function geluGrad(x: f32): f32 {
  const s = geluS(x);
  const xc = x < -GELU_CLAMP ? -GELU_CLAMP : x > GELU_CLAMP ? GELU_CLAMP : x;
  return s + xc * s * (1 - s) * (GELU_2C * (1 + 3 * GELU_K * (xc * xc)));
}

// @ts-ignore: decorator
@inline function forward4(kind: i32, x: v128, alpha: f32): v128 {
  const zero = f32x4.splat(0);
  switch (kind) {
    // x > 0 ? x : 0 by mask, so NaN and -0 give +0 like the reference
    case RELU: return v128.and(x, f32x4.gt(x, zero));
    case LEAKY_RELU: return v128.bitselect(x, f32x4.mul(x, f32x4.splat(alpha)), f32x4.gt(x, zero));
    case SIGMOID: return sigmoid4(x);
    case TANH: return tanh4(x);
    case GELU: return f32x4.mul(f32x4.pmax(x, f32x4.splat(-F32.MAX_VALUE)), geluS4(x));
    default: return x;
  }
}

/** out(N) = f(inp(N)) for activation `kind`, four lanes at a time. */
export function activation_forward(kind: i32, out: usize, inp: usize, N: i32, alpha: f32): void {
  const n = <usize>N << 2;
  let i: usize = 0;
  // One loop per kind: the switch inside forward4 folds away once inlined with a constant kind.
  switch (kind) {
    case RELU:
      for (; i + 16 <= n; i += 16) v128.store(out + i, forward4(RELU, v128.load(inp + i), alpha));
      break;
    case LEAKY_RELU:
      for (; i + 16 <= n; i += 16) v128.store(out + i, forward4(LEAKY_RELU, v128.load(inp + i), alpha));
      break;
    case SIGMOID:
      for (; i + 16 <= n; i += 16) v128.store(out + i, forward4(SIGMOID, v128.load(inp + i), alpha));
      break;
    case TANH:
      for (; i + 16 <= n; i += 16) v128.store(out + i, forward4(TANH, v128.load(inp + i), alpha));
      break;
    case GELU:
      for (; i + 16 <= n; i += 16) v128.store(out + i, forward4(GELU, v128.load(inp + i), alpha));
      break;
    default:
      if (out != inp) for (; i + 16 <= n; i += 16) v128.store(out + i, v128.load(inp + i));
      else i = n;
  }
  // Tail (N % 4): run the same vector code on one lane so it matches the body bit for bit.
  for (; i < n; i += 4) {
    const x = f32x4.splat(load<f32>(inp + i));
    store<f32>(out + i, f32x4.extract_lane(forward4(kind, x, alpha), 0));
  }
}

// @ts-ignore: decorator
@inline function backward4(kind: i32, d: v128, y: v128, alpha: f32): v128 {
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  switch (kind) {
    case RELU: return v128.and(d, f32x4.gt(y, zero));
    case LEAKY_RELU: return v128.bitselect(d, f32x4.mul(d, f32x4.splat(alpha)), f32x4.gt(y, zero));
    case SIGMOID: return f32x4.mul(d, f32x4.mul(y, f32x4.sub(one, y)));
    case TANH: return f32x4.mul(d, f32x4.sub(one, f32x4.mul(y, y)));
    case GELU: return f32x4.mul(d, geluGrad4(y)); // y is the saved input x
    default: return d;
  }
}

/** dinp(N) = dout(N) * f'(x), with f' written in terms of saved(N): f(x), or x for gelu. */
export function activation_backward(kind: i32, dinp: usize, dout: usize, saved: usize, N: i32,
  alpha: f32): void {
  const n = <usize>N << 2;
  let i: usize = 0;
  switch (kind) {
    case RELU:
      for (; i + 16 <= n; i += 16) {
        v128.store(dinp + i, backward4(RELU, v128.load(dout + i), v128.load(saved + i), alpha));
      }
      break;
    case LEAKY_RELU:
      for (; i + 16 <= n; i += 16) {
        v128.store(dinp + i, backward4(LEAKY_RELU, v128.load(dout + i), v128.load(saved + i), alpha));
      }
      break;
    case SIGMOID:
      for (; i + 16 <= n; i += 16) {
        v128.store(dinp + i, backward4(SIGMOID, v128.load(dout + i), v128.load(saved + i), alpha));
      }
      break;
    case TANH:
      for (; i + 16 <= n; i += 16) {
        v128.store(dinp + i, backward4(TANH, v128.load(dout + i), v128.load(saved + i), alpha));
      }
      break;
    case GELU:
      for (; i + 16 <= n; i += 16) {
        v128.store(dinp + i, backward4(GELU, v128.load(dout + i), v128.load(saved + i), alpha));
      }
      break;
    default:
      if (dinp != dout) for (; i + 16 <= n; i += 16) v128.store(dinp + i, v128.load(dout + i));
      else i = n;
  }
  for (; i < n; i += 4) {
    const d = f32x4.splat(load<f32>(dout + i));
    const y = f32x4.splat(load<f32>(saved + i));
    store<f32>(dinp + i, f32x4.extract_lane(backward4(kind, d, y, alpha), 0));
  }
}

/** Scalar twin of activation_forward: one element at a time, Mathf for exp and tanh. */
export function activation_forward_scalar(kind: i32, out: usize, inp: usize, N: i32, alpha: f32): void {
  for (let i = 0; i < N; i++) {
    const x = load<f32>(inp + (<usize>i << 2));
    let y: f32;
    switch (kind) {
      case RELU: y = x > 0 ? x : 0; break;
      case LEAKY_RELU: y = x > 0 ? x : alpha * x; break;
      case SIGMOID: y = 1 / (1 + Mathf.exp(-x)); break;
      case TANH: y = Mathf.tanh(x); break;
      case GELU: y = (x < -F32.MAX_VALUE ? -F32.MAX_VALUE : x) * geluS(x); break;
      default: y = x;
    }
    store<f32>(out + (<usize>i << 2), y);
  }
}

/** Scalar twin of activation_backward. */
export function activation_backward_scalar(kind: i32, dinp: usize, dout: usize, saved: usize, N: i32,
  alpha: f32): void {
  for (let i = 0; i < N; i++) {
    const y = load<f32>(saved + (<usize>i << 2));
    let d: f32;
    switch (kind) {
      case RELU: d = y > 0 ? 1 : 0; break;
      case LEAKY_RELU: d = y > 0 ? 1 : alpha; break;
      case SIGMOID: d = y * (1 - y); break;
      case TANH: d = 1 - y * y; break;
      case GELU: d = geluGrad(y); break;
      default: d = 1;
    }
    store<f32>(dinp + (<usize>i << 2), load<f32>(dout + (<usize>i << 2)) * d);
  }
}
