// Finite-difference gradient check of a whole small network, end to end:
//   x(B,I) -> dense W1(H,I), b1(H) -> activation -> dense W2(C,H), b2(C) -> softmax-CE (mean)
// The analytic gradients (dW1, db1, dW2, db2, dx) come from Backend kernels in f32; the numeric
// ones from central differences of a float64 forward written here, on the same (f32) values.
import { describe, it, expect } from 'vitest';
import { ACTIVATION_SAVES, ACTIVATIONS, type Activation, type Backend } from '../src/engine/backend.js';
import { Rng } from '../src/util/rng.js';
import { randomF32 } from './helpers.js';
import { check, putF32, putI32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

const ALPHA = 0.1; // leaky_relu slope, large enough that its gradient is visible
const H_STEP = 1e-6;

interface Net { B: number; I: number; H: number; C: number }
interface Params { W1: Float32Array; b1: Float32Array; W2: Float32Array; b2: Float32Array; x: Float32Array }

function act64(kind: Activation, v: number): number {
  switch (kind) {
    case 'identity': return v;
    case 'relu': return v > 0 ? v : 0;
    case 'leaky_relu': return v > 0 ? v : ALPHA * v;
    case 'sigmoid': return 1 / (1 + Math.exp(-v));
    case 'tanh': return Math.tanh(v);
    case 'gelu': return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  }
}

/** Pre-activations of the hidden layer in f64, (B,H). */
function hidden64(n: Net, P: Record<keyof Params, Float64Array>): Float64Array {
  const pre = new Float64Array(n.B * n.H);
  for (let b = 0; b < n.B; b++) {
    for (let o = 0; o < n.H; o++) {
      let s = P.b1[o];
      for (let i = 0; i < n.I; i++) s += P.x[b * n.I + i] * P.W1[o * n.I + i];
      pre[b * n.H + o] = s;
    }
  }
  return pre;
}

/** Mean cross-entropy of the network in f64. */
function loss64(n: Net, kind: Activation, P: Record<keyof Params, Float64Array>, y: Int32Array): number {
  const pre = hidden64(n, P);
  let total = 0;
  for (let b = 0; b < n.B; b++) {
    const z = new Float64Array(n.C);
    for (let c = 0; c < n.C; c++) {
      let s = P.b2[c];
      for (let o = 0; o < n.H; o++) s += act64(kind, pre[b * n.H + o]) * P.W2[c * n.H + o];
      z[c] = s;
    }
    const m = Math.max(...z);
    let se = 0;
    for (const v of z) se += Math.exp(v - m);
    total += Math.log(se) + m - z[y[b]];
  }
  return total / n.B;
}

/** Seeded parameters whose hidden pre-activations all stay 0.05 away from 0 (relu's kink). */
function makeParams(n: Net, seed: number): { P: Params; y: Int32Array } {
  for (let s = seed; ; s++) {
    const P: Params = {
      W1: randomF32(n.H * n.I, s, -1, 1), b1: randomF32(n.H, s + 1, -0.5, 0.5),
      W2: randomF32(n.C * n.H, s + 2, -1, 1), b2: randomF32(n.C, s + 3, -0.5, 0.5),
      x: randomF32(n.B * n.I, s + 4, -1, 1),
    };
    const pre = hidden64(n, to64(P));
    const rng = new Rng(s + 5);
    const y = Int32Array.from({ length: n.B }, () => rng.int(n.C));
    const pos = pre.filter((v) => v > 0).length;
    if (pre.every((v) => Math.abs(v) > 0.05) && pos > 0 && pos < pre.length) return { P, y };
  }
}

function to64(P: Params): Record<keyof Params, Float64Array> {
  return { W1: Float64Array.from(P.W1), b1: Float64Array.from(P.b1), W2: Float64Array.from(P.W2),
    b2: Float64Array.from(P.b2), x: Float64Array.from(P.x) };
}

/** Analytic loss and gradients from the backend's kernels (dense forward/backward as the model does it). */
function analytic(be: Backend, n: Net, kind: Activation, P: Params, labels: Int32Array) {
  const { B, I, H, C } = n;
  const mark = be.mark();
  const x = putF32(be, P.x), W1 = putF32(be, P.W1), b1 = putF32(be, P.b1);
  const W2 = putF32(be, P.W2), b2 = putF32(be, P.b2), y = putI32(be, labels);
  const pre = be.f32(B * H), h = be.f32(B * H), z = be.f32(B * C), dz = be.f32(B * C);
  be.gemm(pre, x, W1, b1, B, H, I, false, true, false);
  be.activationForward(kind, h, pre, B * H, ALPHA);
  be.gemm(z, h, W2, b2, B, C, H, false, true, false);
  const loss = be.softmaxCrossEntropy(dz, z, y, B, C) / B;
  const dW2 = be.f32(C * H), db2 = be.f32(C), dh = be.f32(B * H);
  const dW1 = be.f32(H * I), db1 = be.f32(H), dx = be.f32(B * I);
  be.gemm(dW2, dz, h, null, C, H, B, true, false, true);
  be.biasBackward(db2, dz, B, C);
  be.gemm(dh, dz, W2, null, B, H, C, false, false, false);
  be.activationBackward(kind, dh, dh, ACTIVATION_SAVES[kind] === 'input' ? pre : h, B * H, ALPHA); // in place, as the model may do
  be.gemm(dW1, dh, x, null, H, I, B, true, false, true);
  be.biasBackward(db1, dh, B, H);
  be.gemm(dx, dh, W1, null, B, I, H, false, false, false);
  const grads = { W1: dW1.slice(), b1: db1.slice(), W2: dW2.slice(), b2: db2.slice(), x: dx.slice() };
  be.release(mark);
  return { loss, grads };
}

/** Central differences of loss64 with respect to every element of every tensor. */
function numeric(n: Net, kind: Activation, P: Params, y: Int32Array): Record<keyof Params, Float64Array> {
  const P64 = to64(P);
  const out = {} as Record<keyof Params, Float64Array>;
  for (const key of Object.keys(P64) as (keyof Params)[]) {
    const t = P64[key];
    out[key] = new Float64Array(t.length);
    for (let i = 0; i < t.length; i++) {
      const keep = t[i];
      t[i] = keep + H_STEP;
      const up = loss64(n, kind, P64, y);
      t[i] = keep - H_STEP;
      const down = loss64(n, kind, P64, y);
      t[i] = keep;
      out[key][i] = (up - down) / (2 * H_STEP);
    }
  }
  return out;
}

const NETS: Net[] = [{ B: 3, I: 5, H: 4, C: 3 }, { B: 5, I: 17, H: 8, C: 10 }];

reportMaxDiffs('gradcheck: analytic (f32 kernels) vs central differences (f64)');

for (const be of [ref, ...wasmBackends()]) {
  describe(be.name, () => {
    for (const net of NETS) {
      for (const kind of ACTIVATIONS) {
        it(`${net.I}-${net.H}-${net.C}, batch ${net.B}, ${kind}: dW1 db1 dW2 db2 dx`, () => {
          const { P, y } = makeParams(net, 11 * net.I + ACTIVATIONS.indexOf(kind));
          const { loss, grads } = analytic(be, net, kind, P, y);
          expect(Math.abs(loss - loss64(net, kind, to64(P), y))).toBeLessThan(2e-6);
          const num = numeric(net, kind, P, y);
          let largest = 0;
          for (const key of ['W1', 'b1', 'W2', 'b2', 'x'] as const) {
            check(`${be.name} ${net.I}-${net.H}-${net.C} ${kind} d${key}`, grads[key], num[key], 2e-6, 1e-4);
            for (const g of grads[key]) largest = Math.max(largest, Math.abs(g));
          }
          expect(largest).toBeGreaterThan(1e-2); // the check compared real gradients, not zeros
        });
      }
    }
  });
}
