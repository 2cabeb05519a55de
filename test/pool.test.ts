// max-pool and average-pool forward and backward on every backend (ts reference, wasm-simd,
// wasm-scalar, wasm-relaxed where it validates) against a float64 oracle written here, at odd
// sizes: windows 1, 2, 3 with strides 1, 2, 3 (overlapping, tiling and gapped windows), odd H/W,
// C of 1 and 3, widths that leave 1, 2 and 3 windows after the 4-wide SIMD path, and unaligned arrays.
import { describe, it, expect } from 'vitest';
import type { Backend, Pool2dShape } from '../src/engine/backend.js';
import { pool2dShape } from '../src/engine/ref/pool.js';
import { Activation } from '../src/model/layers/activation.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { randomF32 } from './helpers.js';
import { check, expectSameBits, putF32, putI32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

/** Float64 oracle: window max with its index (first maximum), window mean, and both backwards. */
function oracle(x: Float32Array, dout: Float32Array, p: Pool2dShape) {
  const { B, C, H, W, k, stride, OH, OW } = p;
  const n = B * C * OH * OW;
  const max = new Float64Array(n), arg = new Int32Array(n), avg = new Float64Array(n);
  const dmax = new Float64Array(x.length), davg = new Float64Array(x.length);
  for (let o = 0; o < n; o++) {
    const z = o % OW, y = Math.floor(o / OW) % OH, bc = Math.floor(o / (OW * OH));
    const idx: number[] = [];
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) idx.push((bc * H + y * stride + i) * W + z * stride + j);
    const vals = idx.map((q) => x[q]);
    const m = Math.max(...vals);
    max[o] = m;
    arg[o] = idx[vals.indexOf(m)];
    avg[o] = vals.reduce((a, b) => a + b, 0) / (k * k);
    dmax[arg[o]] += dout[o];
    for (const q of idx) davg[q] += dout[o] / (k * k);
  }
  return { max, arg, avg, dmax, davg };
}

function cases(): { p: Pool2dShape; label: string }[] {
  const out: { p: Pool2dShape; label: string }[] = [];
  for (const [k, stride] of [[1, 1], [2, 2], [2, 1], [3, 2], [3, 3], [2, 3]]) {
    for (const C of [1, 3]) {
      for (const [H, W] of [[7, 9], [24, 24], [8, 19], [6, 13], [5, 14], [3, 3]]) {
        if (H < k || W < k) continue;
        out.push({ p: pool2dShape(2, C, H, W, k, stride), label: `k${k} s${stride} C${C} ${H}x${W}` });
      }
    }
  }
  return out;
}

reportMaxDiffs('pool: backends vs float64 oracle');

const backends: Backend[] = [ref, ...wasmBackends()];

for (const be of backends) {
  describe(be.name, () => {
    for (const { p, label } of cases()) {
      it(label, () => {
        const { B, C, H, W, OH, OW } = p;
        const seed = p.k * 100 + p.stride * 10 + C + H * W;
        // a coarse grid of values makes ties common, so the first-maximum rule is exercised
        const x = randomF32(B * C * H * W, seed).map((v) => Math.round(v * 4) / 4);
        const dout = randomF32(B * C * OH * OW, seed + 1);
        const want = oracle(x, dout, p);
        const mark = be.mark();
        const X = putF32(be, x, 1), D = putF32(be, dout, 3);
        const O = putF32(be, new Float32Array(B * C * OH * OW).fill(NaN), 3);
        const A = putI32(be, new Int32Array(B * C * OH * OW).fill(-1), 2);
        const DX = putF32(be, new Float32Array(x.length).fill(NaN), 1);
        be.maxPoolForward(O, A, X, p);
        check(`max forward (${be.name})`, O, want.max, 0, 0);
        expect(Array.from(A)).toEqual(Array.from(want.arg));
        be.maxPoolBackward(DX, D, A, p);
        check(`max backward (${be.name})`, DX, want.dmax, 1e-6, 1e-6);
        be.avgPoolForward(O, X, p);
        check(`avg forward (${be.name})`, O, want.avg, 1e-6, 1e-6);
        DX.fill(NaN);
        be.avgPoolBackward(DX, D, p);
        check(`avg backward (${be.name})`, DX, want.davg, 1e-6, 1e-6);
        be.release(mark);
      });
    }
  });
}

describe('pool shape', () => {
  it('floors like PyTorch (no padding)', () => {
    expect(pool2dShape(1, 1, 7, 9, 2, 2)).toMatchObject({ OH: 3, OW: 4 });
    expect(pool2dShape(1, 1, 24, 24, 3, 3)).toMatchObject({ OH: 8, OW: 8 });
  });
});

describe('max pool special values', () => {
  // NaN (never a maximum after the first pixel: v > best is false), -0 against +0 (a tie: the first
  // wins), infinities and ties, in 2x2 windows of the SIMD path and its tail (W 18: OW 9); dout
  // with -0, which the backward's fill-and-add turns into +0. The SIMD kernels and the TS reference
  // give the scalar twin's bits (all start each window at its first pixel).
  const p = pool2dShape(2, 3, 6, 18, 2, 2);
  const specials = [NaN, -0, 0, -Infinity, Infinity, 1, 1, -1];
  const x = Float32Array.from(randomF32(p.B * p.C * p.H * p.W, 41), (v, i) => (i % 3 === 0 ? specials[(i / 3) % 8] : Math.round(v * 2) / 2));
  const dout = Float32Array.from(randomF32(p.B * p.C * p.OH * p.OW, 42), (v, i) => (i % 5 === 0 ? -0 : v));
  const run = (be: Backend) => {
    const mark = be.mark();
    const n = p.B * p.C * p.OH * p.OW;
    const O = be.f32(n), A = be.i32(n), DX = be.f32(x.length).fill(NaN);
    be.maxPoolForward(O, A, putF32(be, x), p);
    be.maxPoolBackward(DX, putF32(be, dout), A, p);
    const got = { O: O.slice(), A: Array.from(A), DX: DX.slice() };
    be.release(mark);
    return got;
  };
  const [scalar, ...simd] = [...wasmBackends()].sort((a, b) => Number(b.name === 'wasm-scalar') - Number(a.name === 'wasm-scalar'));
  for (const be of [...simd, ref]) {
    it(`${be.name}: wasm-scalar's output, argmax and gradient bits`, () => {
      const want = run(scalar), got = run(be);
      expect(want.O.some(Number.isNaN)).toBe(true);
      expectSameBits(got.O, want.O);
      expect(got.A).toEqual(want.A);
      expectSameBits(got.DX, want.DX);
    });
  }
});

describe('max pool with a fused relu', () => {
  // The layers fuse a relu that runs right after a max pool into the pool (layers/index.ts): the
  // fused kernels must give the bits of max pool then relu, forward and backward, on every backend.
  // Windows k2 s2 (the SIMD path and its 1-window tail) and k3 s2 (the scalar path); values with
  // ties, zeros of both signs and all-negative windows.
  for (const [k, stride, W] of [[2, 2, 18], [3, 2, 9]]) {
    const p = pool2dShape(2, 3, 6, W, k, stride);
    const nIn = p.B * p.C * p.H * p.W, nOut = p.B * p.C * p.OH * p.OW;
    const x = Float32Array.from(randomF32(nIn, 51), (v, i) => (i % 7 === 0 ? -0 : Math.round(v * 2) / 2 - 0.25));
    const dout = randomF32(nOut, 52);
    for (const be of backends) {
      it(`${be.name} k${k} s${stride}: the bits of max pool then relu`, () => {
        const mark = be.mark();
        const X = putF32(be, x), D = putF32(be, dout);
        const O = be.f32(nOut), A = be.i32(nOut), DX = be.f32(nIn), R = be.f32(nOut), DR = be.f32(nOut);
        be.maxPoolForward(O, A, X, p);
        be.activationForward('relu', R, O, nOut, 0);
        be.activationBackward('relu', DR, D, R, nOut, 0);
        be.maxPoolBackward(DX, DR, A, p);
        const want = { out: R.slice(), dx: DX.slice() };
        const Of = be.f32(nOut), Af = be.i32(nOut), DXf = be.f32(nIn);
        be.maxPoolForward(Of, Af, X, { ...p, relu: true });
        be.maxPoolBackward(DXf, D, Af, p);
        expect(Array.from(Af).filter((a) => a === -1).length).toBeGreaterThan(0);
        expectSameBits(Of, want.out);
        expectSameBits(DXf, want.dx);
        be.release(mark);
      });
    }
  }
});

describe('layer fusion', () => {
  it('fuses a relu into the max pool that runs before it, and nothing else', () => {
    const opts = { activation: 'relu' as const, alpha: 0.01, dropout: 0 }, mnist = { height: 28, width: 28, classes: 10 };
    const fused = (arch: string, act: 'relu' | 'tanh' = 'relu') => new Model(ref, parseArch(arch, { ...opts, activation: act }, mnist), 2)
      .layers.filter((l): l is Activation => l instanceof Activation).map((l) => l.fused);
    // relu then max pool runs as pool then relu (model.ts executionOrder): fused; the dense layer's relu is not
    expect(fused('conv4k5-pool2-16-10')).toEqual([true, false]);
    expect(fused('conv4k5-avgpool2-10')).toEqual([false]);
    expect(fused('conv4k5-pool2-10', 'tanh')).toEqual([false]);
  });
});
