// max-pool and average-pool forward and backward on every backend (ts reference, wasm-simd,
// wasm-scalar, wasm-relaxed where it validates) against a float64 oracle written here, at odd
// sizes: windows 1, 2, 3 with strides 1, 2, 3 (overlapping, tiling and gapped windows), odd H/W,
// C of 1 and 3, widths that leave a tail after the 4-wide SIMD path, and unaligned arrays.
import { describe, it, expect } from 'vitest';
import type { Backend, Pool2dShape } from '../src/engine/backend.js';
import { pool2dShape } from '../src/engine/ref/pool.js';
import { randomF32 } from './helpers.js';
import { check, putF32, putI32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';

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
      for (const [H, W] of [[7, 9], [24, 24], [8, 19], [3, 3]]) {
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
