// One optimizer step over the whole flat parameter arena (SIMD, with a naive scalar twin).
// params, grads, m, v are (N) f32; m is the velocity (momentum, nesterov) or first moment and v
// the second moment (adam, adamw); unused state may be 0. g = grad + wd * w, except adamw.
//   sgd        w -= lr g
//   momentum   m = mu m + g;  w -= lr m                          (Polyak 1964, PyTorch form)
//   nesterov   m = mu m + g;  w -= lr (g + mu m)                 (Sutskever et al. 2013)
//   adam       m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
//              w -= lr (m / bc1) / (sqrt(v / bc2) + eps)         (Kingma & Ba 2015)
//   adamw      adam on the raw gradient, then w -= lr wd w       (Loshchilov & Hutter 2019)
// bc1 = 1 - b1^step and bc2 = 1 - b2^step come from the host. beta1 and beta2 arrive as f64:
// 1 - f32(0.999) is 1.3e-5 (relative) away from 0.001, so 1 - beta is formed before rounding.
// Codes are OPTIMIZER_CODE in src/engine/backend.ts; see src/engine/ref/optimizer.ts.

const SGD = 0;
const MOMENTUM = 1;
const NESTEROV = 2;
const ADAM = 3;
const ADAMW = 4;

/** Updates params(N) in place from grads(N), keeping optimizer state in m(N) and v(N). */
export function optimizer_step(kind: i32, params: usize, grads: usize, m: usize, v: usize, N: i32,
  lr: f32, momentum: f32, beta1: f64, beta2: f64, eps: f32, weightDecay: f32, bc1: f64, bc2: f64): void {
  const n = <usize>N << 2;
  const lrv = f32x4.splat(lr);
  const wdv = f32x4.splat(weightDecay);
  const muv = f32x4.splat(momentum);
  let i: usize = 0;
  // Bodies four lanes at a time; the tail (N % 4) runs the scalar twin on the rest.
  switch (kind) {
    case SGD:
      for (; i + 16 <= n; i += 16) {
        const w = v128.load(params + i);
        const g = f32x4.add(v128.load(grads + i), f32x4.mul(wdv, w));
        v128.store(params + i, f32x4.sub(w, f32x4.mul(lrv, g)));
      }
      break;
    case MOMENTUM:
    case NESTEROV:
      for (; i + 16 <= n; i += 16) {
        const w = v128.load(params + i);
        const g = f32x4.add(v128.load(grads + i), f32x4.mul(wdv, w));
        const mi = f32x4.add(f32x4.mul(muv, v128.load(m + i)), g);
        v128.store(m + i, mi);
        const step = kind == NESTEROV ? f32x4.add(g, f32x4.mul(muv, mi)) : mi;
        v128.store(params + i, f32x4.sub(w, f32x4.mul(lrv, step)));
      }
      break;
    case ADAM:
    case ADAMW: {
      const b1 = f32x4.splat(<f32>beta1);
      const b2 = f32x4.splat(<f32>beta2);
      const c1 = f32x4.splat(<f32>(1 - beta1));
      const c2 = f32x4.splat(<f32>(1 - beta2));
      const bc1v = f32x4.splat(<f32>bc1);
      const bc2v = f32x4.splat(<f32>bc2);
      const epsv = f32x4.splat(eps);
      const l2 = kind == ADAM ? wdv : f32x4.splat(0);
      const decay = kind == ADAMW ? f32x4.mul(lrv, wdv) : f32x4.splat(0);
      for (; i + 16 <= n; i += 16) {
        const w = v128.load(params + i);
        const g = f32x4.add(v128.load(grads + i), f32x4.mul(l2, w));
        const mi = f32x4.add(f32x4.mul(b1, v128.load(m + i)), f32x4.mul(c1, g));
        const vi = f32x4.add(f32x4.mul(b2, v128.load(v + i)), f32x4.mul(c2, f32x4.mul(g, g)));
        v128.store(m + i, mi);
        v128.store(v + i, vi);
        const den = f32x4.add(f32x4.sqrt(f32x4.div(vi, bc2v)), epsv);
        const upd = f32x4.div(f32x4.div(mi, bc1v), den);
        v128.store(params + i, f32x4.sub(f32x4.sub(w, f32x4.mul(lrv, upd)), f32x4.mul(decay, w)));
      }
      break;
    }
  }
  const done = <i32>(i >> 2);
  if (done < N) {
    optimizer_step_scalar(kind, params + i, grads + i, m ? m + i : 0, v ? v + i : 0, N - done,
      lr, momentum, beta1, beta2, eps, weightDecay, bc1, bc2);
  }
}

/** Scalar twin of optimizer_step: the reference loop in f32. */
export function optimizer_step_scalar(kind: i32, params: usize, grads: usize, m: usize, v: usize, N: i32,
  lr: f32, momentum: f32, beta1: f64, beta2: f64, eps: f32, weightDecay: f32, bc1: f64, bc2: f64): void {
  const b1 = <f32>beta1, c1 = <f32>(1 - beta1);
  const b2 = <f32>beta2, c2 = <f32>(1 - beta2);
  for (let i = 0; i < N; i++) {
    const o = <usize>i << 2;
    const w = load<f32>(params + o);
    let g = load<f32>(grads + o);
    if (kind != ADAMW) g += weightDecay * w;
    switch (kind) {
      case SGD:
        store<f32>(params + o, w - lr * g);
        break;
      case MOMENTUM: {
        const mi = momentum * load<f32>(m + o) + g;
        store<f32>(m + o, mi);
        store<f32>(params + o, w - lr * mi);
        break;
      }
      case NESTEROV: {
        const mi = momentum * load<f32>(m + o) + g;
        store<f32>(m + o, mi);
        store<f32>(params + o, w - lr * (g + momentum * mi));
        break;
      }
      case ADAM:
      case ADAMW: {
        const mi = b1 * load<f32>(m + o) + c1 * g;
        const vi = b2 * load<f32>(v + o) + c2 * g * g;
        store<f32>(m + o, mi);
        store<f32>(v + o, vi);
        const update = (mi / <f32>bc1) / (Mathf.sqrt(vi / <f32>bc2) + eps);
        store<f32>(params + o, w - lr * update - (kind == ADAMW ? lr * weightDecay * w : 0));
        break;
      }
    }
  }
}
