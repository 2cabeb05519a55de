// Reference activations. Each backward is written in terms of the forward output y = f(x):
//   relu:        y = max(0, x)              dy/dx = y > 0
//   leaky_relu:  y = x > 0 ? x : alpha*x    dy/dx = y > 0 ? 1 : alpha   (alpha > 0 keeps the sign)
//   sigmoid:     y = 1 / (1 + e^-x)         dy/dx = y (1 - y)
//   tanh:        y = tanh(x)                dy/dx = 1 - y^2
// so the layer keeps only its output for the backward pass.
import type { Activation } from '../backend.js';

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
    }
  }
}

export function activationBackward(kind: Activation, dinp: Float32Array, dout: Float32Array,
  out: Float32Array, N: number, alpha: number): void {
  for (let i = 0; i < N; i++) {
    const y = out[i];
    let d: number;
    switch (kind) {
      case 'identity': d = 1; break;
      case 'relu': d = y > 0 ? 1 : 0; break;
      case 'leaky_relu': d = y > 0 ? 1 : alpha; break;
      case 'sigmoid': d = y * (1 - y); break;
      case 'tanh': d = 1 - y * y; break;
    }
    dinp[i] = dout[i] * d;
  }
}
