// Finite-difference gradient check of a small CNN: conv -> relu -> pool -> dense -> softmax-CE.
// The analytic gradients come from each backend's f32 kernels (ts, wasm-simd, wasm-scalar,
// wasm-relaxed); the numeric ones from central differences of a float64 forward written here.
// Checked: the input, the conv weights and the conv bias (every element).
import { describe, it, expect } from 'vitest';
import type { Backend, Conv2dShape, Pool2dShape } from '../src/engine/backend.js';
import { conv2dShape } from '../src/engine/ref/conv2d.js';
import { pool2dShape } from '../src/engine/ref/pool.js';
import { randomF32 } from './helpers.js';
import { putF32, putI32, ref, wasmBackends } from './kernel_backends.js';

interface Net {
  s: Conv2dShape; p: Pool2dShape; pool: 'max' | 'avg'; classes: number;
  x: Float64Array; w: Float64Array; b: Float64Array; wd: Float64Array; bd: Float64Array; y: Int32Array;
}

/** Mean cross-entropy of the network in float64. */
function loss64(n: Net): number {
  const { s, p, classes } = n;
  const { B, C, H, W, OC, KH, KW, stride, pad, OH, OW } = s;
  const h = new Float64Array(B * OC * OH * OW);
  for (let b = 0; b < B; b++) for (let o = 0; o < OC; o++) for (let y = 0; y < OH; y++) for (let z = 0; z < OW; z++) {
    let sum = n.b[o];
    for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const iy = y * stride + i - pad, ix = z * stride + j - pad;
      if (iy >= 0 && iy < H && ix >= 0 && ix < W) {
        sum += n.w[((o * C + c) * KH + i) * KW + j] * n.x[((b * C + c) * H + iy) * W + ix];
      }
    }
    h[((b * OC + o) * OH + y) * OW + z] = Math.max(0, sum);
  }
  const I = OC * p.OH * p.OW;
  const q = new Float64Array(B * I);
  for (let bc = 0; bc < B * OC; bc++) for (let y = 0; y < p.OH; y++) for (let z = 0; z < p.OW; z++) {
    let m = -Infinity, sum = 0;
    for (let i = 0; i < p.k; i++) for (let j = 0; j < p.k; j++) {
      const v = h[(bc * OH + y * p.stride + i) * OW + z * p.stride + j];
      m = Math.max(m, v);
      sum += v;
    }
    q[(bc * p.OH + y) * p.OW + z] = n.pool === 'max' ? m : sum / (p.k * p.k);
  }
  let total = 0;
  for (let b = 0; b < B; b++) {
    const logits: number[] = [];
    for (let c = 0; c < classes; c++) {
      let sum = n.bd[c];
      for (let i = 0; i < I; i++) sum += n.wd[c * I + i] * q[b * I + i];
      logits.push(sum);
    }
    const mx = Math.max(...logits);
    const lse = mx + Math.log(logits.reduce((a, v) => a + Math.exp(v - mx), 0));
    total += lse - logits[n.y[b]];
  }
  return total / B;
}

/** d loss / d (x, w, b) from the backend's kernels. */
function analytic(be: Backend, n: Net) {
  const { s, p, classes } = n;
  const { B, OC, OH, OW } = s;
  const I = OC * p.OH * p.OW;
  const mark = be.mark();
  const X = putF32(be, n.x, 1), Wt = putF32(be, n.w), Bc = putF32(be, n.b), Wd = putF32(be, n.wd), Bd = putF32(be, n.bd);
  const Y = putI32(be, n.y);
  const conv = be.f32(B * OC * OH * OW), act = be.f32(B * OC * OH * OW);
  const pooled = be.f32(B * I), arg = be.i32(B * I), logits = be.f32(B * classes), dlogits = be.f32(B * classes);
  const dpool = be.f32(B * I), dact = be.f32(B * OC * OH * OW);
  const dX = be.f32(X.length), dW = be.f32(Wt.length), dB = be.f32(OC);
  be.conv2dForward(conv, X, Wt, Bc, s);
  be.activationForward('relu', act, conv, conv.length, 0);
  if (n.pool === 'max') be.maxPoolForward(pooled, arg, act, p); else be.avgPoolForward(pooled, act, p);
  be.gemm(logits, pooled, Wd, Bd, B, classes, I, false, true, false);
  const loss = be.softmaxCrossEntropy(dlogits, logits, Y, B, classes) / B;
  be.gemm(dpool, dlogits, Wd, null, B, I, classes, false, false, false);
  if (n.pool === 'max') be.maxPoolBackward(dact, dpool, arg, p); else be.avgPoolBackward(dact, dpool, p);
  be.activationBackward('relu', dact, dact, act, dact.length, 0);
  be.conv2dBackward(dX, dW, dB, dact, X, Wt, s);
  const out = { loss, dx: Float64Array.from(dX), dw: Float64Array.from(dW), db: Float64Array.from(dB) };
  be.release(mark);
  return out;
}

function makeNet(s: Conv2dShape, k: number, stride: number, pool: 'max' | 'avg', seed: number): Net {
  const p = pool2dShape(s.B, s.OC, s.OH, s.OW, k, stride);
  const classes = 4;
  const I = s.OC * p.OH * p.OW;
  const f64 = (n: number, sd: number, a: number) => Float64Array.from(randomF32(n, sd, -a, a));
  const y = new Int32Array(s.B).map((_, i) => (i * 3 + seed) % classes);
  return {
    s, p, pool, classes, y,
    x: f64(s.B * s.C * s.H * s.W, seed, 1),
    w: f64(s.OC * s.C * s.KH * s.KW, seed + 1, 0.6),
    b: f64(s.OC, seed + 2, 0.2),
    wd: f64(classes * I, seed + 3, 0.8),
    bd: f64(classes, seed + 4, 0.1),
  };
}

/** Central difference of loss64 for every element of one tensor of the net. */
function numeric(n: Net, t: Float64Array, h = 1e-5): Float64Array {
  const g = new Float64Array(t.length);
  for (let i = 0; i < t.length; i++) {
    const v = t[i];
    t[i] = v + h; const up = loss64(n);
    t[i] = v - h; const down = loss64(n);
    t[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

/** Largest |a - b| / max(1e-3, |a| + |b|): relative error that tolerates tiny gradients. */
function relErr(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i]) + Math.abs(b[i])));
  return worst;
}

const nets: { label: string; net: Net }[] = [
  { label: 'conv k3 s1 p1 (C2->OC3, 7x7) + relu + maxpool2 + dense4', net: makeNet(conv2dShape(2, 2, 7, 7, 3, 3, 3, 1, 1), 2, 2, 'max', 11) },
  { label: 'conv k5 s2 p2 (C1->OC5, 9x11) + relu + avgpool2 s1 + dense4', net: makeNet(conv2dShape(3, 1, 9, 11, 5, 5, 5, 2, 2), 2, 1, 'avg', 23) },
  { label: 'conv k3 s1 p0 (C3->OC4, 8x8) + relu + maxpool3 s3 + dense4', net: makeNet(conv2dShape(2, 3, 8, 8, 4, 3, 3, 1, 0), 3, 3, 'max', 37) },
  // a single-channel 5x5 first layer (assembly/conv/single.ts), 'same' padding
  { label: 'conv k5 s1 p2 (C1->OC5, 9x10) + relu + maxpool2 + dense4', net: makeNet(conv2dShape(3, 1, 9, 10, 5, 5, 5, 1, 2), 2, 2, 'max', 41) },
];

for (const { label, net } of nets) {
  describe(label, () => {
    const want = { dx: numeric(net, net.x), dw: numeric(net, net.w), db: numeric(net, net.b) };
    const loss = loss64(net);
    for (const be of [ref, ...wasmBackends()]) {
      it(`${be.name}: input, conv weight and bias gradients match finite differences`, () => {
        const got = analytic(be, net);
        expect(Math.abs(got.loss - loss)).toBeLessThan(1e-5);
        const errs = { dx: relErr(got.dx, want.dx), dw: relErr(got.dw, want.dw), db: relErr(got.db, want.db) };
        console.log(`${label} [${be.name}] max rel err: dx ${errs.dx.toExponential(1)} dw ${errs.dw.toExponential(1)} db ${errs.db.toExponential(1)}`);
        // f32 kernels against an f64 central difference: agreement to ~1e-4 relative
        expect(errs.dx).toBeLessThan(2e-3);
        expect(errs.dw).toBeLessThan(2e-3);
        expect(errs.db).toBeLessThan(2e-3);
        // and the gradient is not trivially zero
        expect(want.dw.some((v) => Math.abs(v) > 1e-3)).toBe(true);
      });
    }
  });
}
