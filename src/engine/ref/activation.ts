// Reference activations. Each backward is written in terms of what the layer saved
// (ACTIVATION_SAVES): the forward output y = f(x) where f' can be written from it,
//   relu:        y = max(0, x)              dy/dx = y > 0
//   leaky_relu:  y = x > 0 ? x : alpha*x    dy/dx = y > 0 ? 1 : alpha   (alpha > 0 keeps the sign)
//   sigmoid:     y = 1 / (1 + e^-x)         dy/dx = y (1 - y)
//   tanh:        y = tanh(x)                dy/dx = 1 - y^2
// else the input x:
//   gelu:        y = x s, s = sigmoid(2u), u = c (x + k x^3), c = sqrt(2/pi), k = 0.044715
//                (the tanh form 0.5 x (1 + tanh u) of GPT-2, written without its cancellation for x < 0;
//                the factor x at least -F32_MAX, so gelu(-inf) is its limit 0, not -inf * 0 = NaN)
//                dy/dx = s + x s (1 - s) 2c (1 + 3k x^2), with x clamped to [-10, 10] in the second
//                term: there s (1 - s) < 1e-37, and the clamp keeps +-inf from giving 0 * inf = NaN.
import type { Activation } from '../backend.js';

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;
const F32_MAX = 3.4028234663852886e38;

/** sigmoid(2u) of gelu at x. */
function geluS(x: number): number {
  return 1 / (1 + Math.exp(-2 * GELU_C * (x + GELU_K * x * x * x)));
}

export function activationForward(kind: Activation, out: Float32Array, inp: Float32Array, N: number,
  alpha: number): void {
  for (let i = 0; i < N; i++) {
    const x = inp[i];
    switch (kind) {
      case 'identity': out[i] = x; break;
      case 'relu': out[i] = x > 0 ? x : 0; break;
      case 'leaky_relu': out[i] = x > 0 ? x : alpha * x; break;
      case 'sigmoid': out[i] = 1 / (1 + Math.exp(-x)); break;
      case 'tanh': out[i] = Math.tanh(x); break;
      case 'gelu': out[i] = Math.max(x, -F32_MAX) * geluS(x); break;
    }
  }
}

export function activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array,
  saved: Float32Array, N: number, alpha: number): void {
  for (let i = 0; i < N; i++) {
    const y = saved[i];
    let d: number;
    switch (kind) {
      case 'identity': d = 1; break;
      case 'relu': d = y > 0 ? 1 : 0; break;
      case 'leaky_relu': d = y > 0 ? 1 : alpha; break;
      case 'sigmoid': d = y * (1 - y); break;
      case 'tanh': d = 1 - y * y; break;
      case 'gelu': {
        const x = y, s = geluS(x), xc = Math.min(Math.max(x, -10), 10);
        d = s + xc * s * (1 - s) * 2 * GELU_C * (1 + 3 * GELU_K * xc * xc);
        break;
      }
    }
    dinp[i] = dout[i] * d;
  }
}
