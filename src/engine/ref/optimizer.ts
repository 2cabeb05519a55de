// Reference optimizer update: one loop over the flat parameter arena, five configurations.
//   sgd        w -= lr * g                                         (g includes wd * w)
//   momentum   v = mu v + g;  w -= lr * v                          (Polyak 1964, PyTorch form)
//   nesterov   v = mu v + g;  w -= lr * (g + mu v)                 (Sutskever et al. 2013)
//   adam       m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//              w -= lr * mhat / (sqrt(vhat) + eps)                 (Kingma & Ba 2015)
//   adamw      adam on the raw gradient, then w -= lr * wd * w    (Loshchilov & Hutter 2019)
import type { OptimizerStep } from '../backend.js';

export function optimizerStep(params: Float32Array, grads: Float32Array, m: Float32Array,
  v: Float32Array, N: number, h: OptimizerStep): void {
  const { lr, momentum: mu, beta1: b1, beta2: b2, eps, weightDecay: wd } = h;
  const bc1 = 1 - Math.pow(b1, h.step);
  const bc2 = 1 - Math.pow(b2, h.step);
  for (let i = 0; i < N; i++) {
    const w = params[i];
    let g = grads[i];
    if (h.kind !== 'adamw') g += wd * w;
    switch (h.kind) {
      case 'sgd':
        params[i] = w - lr * g;
        break;
      case 'momentum':
        m[i] = mu * m[i] + g;
        params[i] = w - lr * m[i];
        break;
      case 'nesterov':
        m[i] = mu * m[i] + g;
        params[i] = w - lr * (g + mu * m[i]);
        break;
      case 'adam':
      case 'adamw': {
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        const update = (m[i] / bc1) / (Math.sqrt(v[i] / bc2) + eps);
        params[i] = w - lr * update - (h.kind === 'adamw' ? lr * wd * w : 0);
        break;
      }
    }
  }
}
