// The zero-skipping first dense layer (assembly/sparse.ts, assembly/transpose.ts and their twins in
// src/engine/ref/sparse.ts): sparseRows against plain JS, sparseForward and sparseWeightGrad against
// float64 oracles on every backend, the claim that wasm-simd/relaxed give gemm's very bits (forward
// off gemm's dot path, dW off its K-blocked path), transpose exactly, 1, 2 and 3 threads bit for
// bit, and a Model trained with sparseInput on and off.
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Backend, OptimizerStep } from '../src/engine/backend.js';
import { loadIdxImages, loadIdxLabels, defaultDataDir } from '../src/data/index.js';
import { TsBackend } from '../src/engine/ts.js';
import { ThreadedWasmBackend } from '../src/engine/threads/backend.js';
import { WasmBackend, dotPath, kBlocked, relaxedSupported, type WasmVariant } from '../src/engine/wasm.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';
import { randomF32 } from './helpers.js';
import {
  check, expectSameBits, putF32, putI32, ref, reportMaxDiffs, wasmBackends,
} from './kernel_backends.js';

const wasm = wasmBackends();
const backends: Backend[] = [ref, ...wasm];
/** The variants whose sparse kernels claim gemm's bits (scalar and ts only round alike). */
const exact = wasm.filter((be) => be.variant !== 'scalar');

const open: ThreadedWasmBackend[] = [];
function threaded(variant: WasmVariant, threads: number): ThreadedWasmBackend {
  const be = new ThreadedWasmBackend(variant, threads);
  open.push(be);
  return be;
}
afterAll(() => { for (const be of open) be.dispose(); });

reportMaxDiffs('sparse: worst |diff| against the float64 oracle');

// ---- inputs and oracles ----

/** B rows of D values, each nonzero (in [-1, 1]) with probability `density`. */
function sparseX(B: number, D: number, density: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(B * D);
  for (let i = 0; i < x.length; i++) if (rng.float() < density) x[i] = 2 * rng.float() - 1 || 0.5;
  return x;
}

/** The first n test images of the bundled MNIST, scaled to [0, 1] (81% of the pixels are 0). */
let mnistCache: { x: Float32Array; y: Uint8Array } | null = null;
function mnistRows(n: number): { x: Float32Array; y: Uint8Array } {
  if (!mnistCache) {
    const dir = defaultDataDir();
    const img = loadIdxImages(join(dir, 't10k-images-idx3-ubyte.gz'));
    const x = new Float32Array(1000 * 784);
    for (let i = 0; i < x.length; i++) x[i] = img.images[i] / 255;
    mnistCache = { x, y: loadIdxLabels(join(dir, 't10k-labels-idx1-ubyte.gz')).slice(0, 1000) };
  }
  return { x: mnistCache.x.subarray(0, n * 784), y: mnistCache.y.subarray(0, n) };
}

/** The compressed rows in the kernels' layout, by plain JS: row b's slots are [b*D, b*D + cnt[b]). */
function compress(x: Float32Array, B: number, D: number) {
  const idx = new Int32Array(B * D), val = new Float32Array(B * D), cnt = new Int32Array(B);
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < D; k++) {
      const v = x[b * D + k];
      if (v !== 0) { idx[b * D + cnt[b]] = k; val[b * D + cnt[b]] = v; cnt[b]++; }
    }
    total += cnt[b];
  }
  return { idx, val, cnt, total };
}

/** y(B,O) = x W^T + bias in float64, from the dense x and W (O,D). */
function forward64(x: Float32Array, W: Float32Array, bias: Float32Array | null, B: number, D: number, O: number) {
  const y = new Float64Array(B * O);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < O; o++) {
      let s = bias ? bias[o] : 0;
      for (let k = 0; k < D; k++) s += x[b * D + k] * W[o * D + k];
      y[b * O + o] = s;
    }
  }
  return y;
}

/** dW0 + dy^T x in float64: dW (O,D), dy (B,O). */
function weightGrad64(dW0: Float32Array, dy: Float32Array, x: Float32Array, B: number, D: number, O: number) {
  const dW = Float64Array.from(dW0);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < D; k++) {
      const v = x[b * D + k];
      if (v !== 0) for (let o = 0; o < O; o++) dW[o * D + k] += v * dy[b * O + o];
    }
  }
  return dW;
}

/** W (O,D) transposed to (D,ldw); the padding columns [O, ldw) hold `pad`. */
function transposed(W: Float32Array, O: number, D: number, ldw: number, pad: number): Float32Array {
  const wt = new Float32Array(D * ldw).fill(pad);
  for (let o = 0; o < O; o++) for (let k = 0; k < D; k++) wt[k * ldw + o] = W[o * D + k];
  return wt;
}

const roundUp4 = (n: number) => Math.ceil(n / 4) * 4;
/** Tolerance of an f32 sum of K products of values in [-1, 1] (as in matmul.test.ts). */
const atolFor = (K: number) => 1e-6 * (K + 1);
const RTOL = 1e-5;

// ---- 1. sparseRows ----

/**
 * Rows that cycle through the cases: all zeros (with -0s), all nonzero, sparse with specials
 * (-0 must count as zero; NaN, -Infinity and the smallest denormal are nonzeros), and dense.
 */
function specialRows(B: number, D: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const x = new Float32Array(B * D);
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < D; k++) {
      const r = rng.float(), v = 2 * rng.float() - 1 || 0.25;
      let e: number;
      switch (b % 4) {
        case 0: e = r < 0.5 ? -0 : 0; break;
        case 1: e = v; break;
        case 2: e = r < 0.1 ? -0 : r < 0.15 ? NaN : r < 0.2 ? -Infinity : r < 0.22 ? 1e-45 : r < 0.45 ? v : 0; break;
        default: e = r < 0.8 ? v : 0;
      }
      x[b * D + k] = e;
    }
  }
  return x;
}

// (B, D): D across the 16- and 4-column loops and their tails; the last two split on 2 threads
// (B*D >= 2^18 and B >= 16): 16 rows (two 8-row groups) and 337 (a partial group).
const ROW_CASES: [number, number][] = [
  [1, 1], [4, 3], [5, 4], [6, 5], [4, 16], [7, 17], [9, 33], [8, 784], [16, 16384], [337, 784],
];
const SENTINEL = 8;

describe.each([...backends, threaded('simd', 2)].map((be) => [`${be.name}${be instanceof ThreadedWasmBackend ? ' 2 threads' : ''}`, be] as const))(
  '%s: sparseRows', (_name, be) => {
    it.each(ROW_CASES)('B=%i D=%i: counts, total, columns and values in order, nothing written past the rows', (B, D) => {
      const x0 = specialRows(B, D, B * 31 + D);
      const want = compress(x0, B, D);
      const mark = be.mark();
      for (const shift of [0, 1]) {
        // outputs prefilled (-7, NaN) with SENTINEL extra slots: a row's slots past cnt[b] may
        // hold anything, but nothing may be written past the last row
        const idx = putI32(be, new Int32Array(B * D + SENTINEL).fill(-7), shift);
        const val = putF32(be, new Float32Array(B * D + SENTINEL).fill(NaN), shift);
        const cnt = putI32(be, new Int32Array(B + SENTINEL).fill(-7), shift);
        const total = be.sparseRows(idx, val, cnt, putF32(be, x0, shift), B, D);
        expect(total).toBe(want.total);
        expect(Array.from(cnt.subarray(0, B))).toEqual(Array.from(want.cnt));
        for (let b = 0; b < B; b++) {
          const s = b * D, e = s + want.cnt[b];
          expect(Array.from(idx.subarray(s, e))).toEqual(Array.from(want.idx.subarray(s, e)));
          expectSameBits(val.subarray(s, e), want.val.subarray(s, e));
        }
        expect(Array.from(idx.subarray(B * D))).toEqual(new Array(SENTINEL).fill(-7));
        expect(Array.from(cnt.subarray(B))).toEqual(new Array(SENTINEL).fill(-7));
        expect(val.subarray(B * D).every(Number.isNaN)).toBe(true);
      }
      be.release(mark);
      // the cases hold every kind of row: all-zero rows count 0, all-nonzero rows D
      if (B > 1) expect([want.cnt[0], want.cnt[1]]).toEqual([0, D]);
    });
  });

// ---- 2. sparseForward ----

const FWD_B = [1, 3, 17, 130];
const FWD_D = [1, 5, 33, 784];
const FWD_O = [1, 3, 4, 5, 10, 13, 31, 32, 33, 37, 128];

/** One forward case: inputs (dense and compressed), W, bias and the float64 oracle, cached. */
const fwdCache = new Map<string, ReturnType<typeof makeFwdCase>>();
function makeFwdCase(B: number, D: number, O: number) {
  const seed = B * 1_000_003 + D * 1009 + O;
  const x = sparseX(B, D, 0.2, seed), W = randomF32(O * D, seed + 1), bias = randomF32(O, seed + 2);
  return { x, W, bias, c: compress(x, B, D), withBias: forward64(x, W, bias, B, D, O), noBias: forward64(x, W, null, B, D, O) };
}
function fwdCase(B: number, D: number, O: number) {
  const key = `${B},${D},${O}`;
  if (!fwdCache.has(key)) fwdCache.set(key, makeFwdCase(B, D, O));
  return fwdCache.get(key)!;
}

/** sparseForward on be from the plain-JS compression; the padding of wt is NaN (must not leak). */
function runForward(be: Backend, B: number, D: number, O: number, ldw: number, withBias: boolean, shift: number) {
  const { W, bias, c } = fwdCase(B, D, O);
  const y = putF32(be, new Float32Array(B * O).fill(NaN), shift);
  be.sparseForward(y, putI32(be, c.idx, shift), putF32(be, c.val, shift), putI32(be, c.cnt, shift),
    putF32(be, transposed(W, O, D, ldw, NaN), shift), withBias ? putF32(be, bias, shift) : null, B, D, O, ldw);
  return y;
}

describe.each(backends.map((be) => [be.name, be] as const))('%s: sparseForward', (name, be) => {
  it.each(FWD_D)('D=%i, every B and O, bias on/off, tight and wide ldw: the float64 oracle', (D) => {
    let n = 0;
    for (const B of FWD_B) {
      for (const O of FWD_O) {
        for (const ldw of [roundUp4(O), roundUp4(O + 8)]) {
          for (const withBias of [false, true]) {
            const mark = be.mark();
            const y = runForward(be, B, D, O, ldw, withBias, n++ % 2);
            const want = fwdCase(B, D, O);
            check(`${name} sparseForward`, y, withBias ? want.withBias : want.noBias, atolFor(D), RTOL);
            be.release(mark);
          }
        }
      }
    }
  });
});

describe.each(exact.map((be) => [be.name, be] as const))('%s: sparseForward gives gemm\'s bits', (_name, be) => {
  // gemm(y, x, W, bias, B, O, D, false, true) takes the packed path (one k-ordered sum per
  // element) unless dotPath; that is every O > 12, and O <= 12 when D < 32.
  it.each(FWD_D)('D=%i, every B, O off the dot path, bias on/off', (D) => {
    let compared = 0;
    for (const B of FWD_B) {
      for (const O of FWD_O.filter((o) => !dotPath(o, D, false, true))) {
        for (const withBias of [false, true]) {
          const mark = be.mark();
          const { x, W, bias } = fwdCase(B, D, O);
          const y = runForward(be, B, D, O, roundUp4(O), withBias, 1);
          const g = be.f32(B * O);
          be.gemm(g, putF32(be, x), putF32(be, W), withBias ? putF32(be, bias) : null, B, O, D, false, true, false);
          expectSameBits(y, g);
          compared++;
          be.release(mark);
        }
      }
    }
    expect(compared).toBeGreaterThanOrEqual(4 * 6 * 2); // every B with O = 13, 31, 32, 33, 37, 128 at least
  });
});

describe.each(wasm.map((be) => [be.name, be] as const))('%s: ldw', (_name, be) => {
  it('refuses a row stride of wt that is not a multiple of 4 or is below O', () => {
    const { c } = fwdCase(3, 5, 5);
    const call = (ldw: number) => () => be.sparseForward(be.f32(15), putI32(be, c.idx), putF32(be, c.val),
      putI32(be, c.cnt), be.f32(5 * 8), null, 3, 5, 5, ldw);
    expect(call(6)).toThrow(/ldw/);
    expect(call(4)).toThrow(/ldw/);
    expect(call(8)).not.toThrow();
  });
});

// ---- 3. sparseWeightGrad between the transposes: the layer's dW ----

// (B, D, O): O across the 8-vector blocks and their tails; the last two are K-blocked in gemm
// (O <= 12, B >= 512), where only the tolerance applies.
const DW_SHAPES: [number, number, number][] = [
  [1, 1, 1], [3, 5, 4], [17, 33, 13], [130, 784, 10], [130, 784, 32], [64, 17, 37], [130, 33, 128],
  [600, 784, 33], [600, 50, 5], [513, 784, 10],
];

/**
 * dW (O,D) from dW0 the way the layer takes it: transpose to dwt (D,ldw), sparseWeightGrad, and
 * back. dwt starts as garbage; its padding columns must come out as they went in.
 */
function sparseDW(be: Backend, dW0: Float32Array, dy: Float32Array, x: Float32Array, B: number, D: number, O: number,
  ldw: number, shift: number): Float32Array {
  const c = compress(x, B, D);
  const dW = putF32(be, dW0, shift);
  const dwt = putF32(be, randomF32(D * ldw, 99, 1, 2), shift);
  const before = dwt.slice();
  be.transpose(dwt, dW, O, D, D, ldw);
  be.sparseWeightGrad(dwt, putI32(be, c.idx, shift), putF32(be, c.val, shift), putI32(be, c.cnt, shift),
    putF32(be, dy, shift), B, D, O, ldw);
  for (let k = 0; k < D; k++) {
    expectSameBits(dwt.subarray(k * ldw + O, (k + 1) * ldw), before.subarray(k * ldw + O, (k + 1) * ldw));
  }
  be.transpose(dW, dwt, D, O, ldw, D);
  return dW;
}

describe.each(backends.map((be) => [be.name, be] as const))('%s: sparse dW', (name, be) => {
  it.each(DW_SHAPES)('B=%i D=%i O=%i: dW0 + dy^T x from a nonzero dW0 (tight and wide ldw)', (B, D, O) => {
    const seed = B * 7 + D * 13 + O;
    const x = sparseX(B, D, 0.2, seed), dy = randomF32(B * O, seed + 1), dW0 = randomF32(O * D, seed + 2);
    const want = weightGrad64(dW0, dy, x, B, D, O);
    for (const [ldw, shift] of [[roundUp4(O), 0], [roundUp4(O + 8), 1]]) {
      const mark = be.mark();
      check(`${name} sparse dW`, sparseDW(be, dW0, dy, x, B, D, O, ldw, shift), want, atolFor(B), RTOL);
      be.release(mark);
    }
  });
});

describe.each(exact.map((be) => [be.name, be] as const))('%s: sparse dW gives gemm\'s bits', (_name, be) => {
  it.each(DW_SHAPES.filter(([B, D, O]) => !kBlocked(O, D, B, true, false, false)))(
    'B=%i D=%i O=%i: the same bits as gemm(dW, dy, x, null, O, D, B, transA, accumulate)', (B, D, O) => {
      const seed = B * 7 + D * 13 + O;
      const x = sparseX(B, D, 0.2, seed), dy = randomF32(B * O, seed + 1), dW0 = randomF32(O * D, seed + 2);
      const mark = be.mark();
      const got = sparseDW(be, dW0, dy, x, B, D, O, roundUp4(O), 1);
      const g = putF32(be, dW0);
      be.gemm(g, putF32(be, dy), putF32(be, x), null, O, D, B, true, false, true);
      expectSameBits(got, g);
      be.release(mark);
    });
});

it('only the last two dW shapes are K-blocked in gemm (the others are compared bit for bit)', () => {
  expect(DW_SHAPES.filter(([B, D, O]) => kBlocked(O, D, B, true, false, false))).toEqual([[600, 50, 5], [513, 784, 10]]);
});

// ---- 4. transpose ----

// (R, C): 4x4 blocks and every tail, a vector or a single element, and the layer's (128, 784)
const T_SHAPES: [number, number][] = [
  [1, 1], [1, 7], [7, 1], [3, 5], [4, 4], [5, 3], [8, 12], [17, 33], [33, 17], [128, 784], [785, 13],
];

describe.each(backends.map((be) => [be.name, be] as const))('%s: transpose', (_name, be) => {
  it.each(T_SHAPES)('R=%i C=%i: exact, with lds > C and ldd > R; nothing else in dst changes', (R, C) => {
    for (const [lds, ldd, shift] of [[C, R, 0], [C + 3, R + 5, 1]]) {
      const src0 = randomF32(R * lds, R * 100 + C);
      for (let i = 0; i < src0.length; i += 7) src0[i] = -0; // moved as bits, not as numbers
      const dst0 = randomF32((C + 1) * ldd, 5); // one row past C
      const want = dst0.slice();
      for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) want[c * ldd + r] = src0[r * lds + c];
      const mark = be.mark();
      const dst = putF32(be, dst0, shift);
      be.transpose(dst, putF32(be, src0, shift), R, C, lds, ldd);
      expectSameBits(dst, want);
      be.release(mark);
    }
  });
});

// ---- 5. threads: the 2- and 3-thread backends give one thread's bits ----

/**
 * The layer's four ops on MNIST rows with a W (O,D), bias, dy and nonzero dW0: compress, transpose
 * W, forward, dW through dwt and back. Each backend uses its own compression.
 */
function layerOps(be: Backend, x0: Float32Array, B: number, D: number, O: number) {
  const ldw = roundUp4(O);
  const W = putF32(be, randomF32(O * D, 1)), bias = putF32(be, randomF32(O, 2));
  const dy = putF32(be, randomF32(B * O, 3)), dW = putF32(be, randomF32(O * D, 4));
  const idx = be.i32(B * D), val = be.f32(B * D), cnt = be.i32(B);
  const total = be.sparseRows(idx, val, cnt, putF32(be, x0), B, D);
  const wt = be.f32(D * ldw), y = be.f32(B * O), dwt = be.f32(D * ldw);
  be.transpose(wt, W, O, D, D, ldw);
  be.sparseForward(y, idx, val, cnt, wt, bias, B, D, O, ldw);
  be.transpose(dwt, dW, O, D, D, ldw);
  be.sparseWeightGrad(dwt, idx, val, cnt, dy, B, D, O, ldw);
  be.transpose(dW, dwt, D, O, ldw, D);
  // the compressed rows as bits, only up to each row's count (the slots after it are scratch)
  const packed = (a: Int32Array | Float32Array) => {
    const out = new Float32Array(total);
    for (let b = 0, n = 0; b < B; n += cnt[b++]) out.set(new Float32Array(a.buffer, a.byteOffset + 4 * b * D, cnt[b]), n);
    return out;
  };
  return { total, cnt: Array.from(cnt), idx: packed(idx), val: packed(val), wt, y, dwt, dW };
}

const THREAD_VARIANTS: [WasmVariant, number[]][] = [['simd', [2, 3]], ['scalar', [2]]];
if (relaxedSupported()) THREAD_VARIANTS.push(['relaxed', [2]]);
// Above every split threshold (src/engine/threads/backend.ts): B*D >= 2^18 and B >= 16 (sparse_rows),
// 2 * nonzeros * O >= 4 MFLOP (forward, dW), O*D >= 2^16 (transposes); an odd B (a partial 8-row
// chunk), and O = 93 ends in a 1-lane vector.
const B_T = 337, D_T = 784;

describe.each(THREAD_VARIANTS)('%s: threads', (variant, counts) => {
  const one = new WasmBackend(variant);
  it.each([128, 93])('O=%i: compress, transposes, forward and dW equal one thread bit for bit, and are split', (O) => {
    const { x } = mnistRows(B_T);
    const base = layerOps(one, x, B_T, D_T, O);
    expect(base.total / (B_T * D_T)).toBeLessThan(0.25); // MNIST-like
    for (const n of counts) {
      const be = threaded(variant, n);
      const runs = vi.spyOn(be.pool, 'run');
      const got = layerOps(be, x, B_T, D_T, O);
      // every op really ran in chunks (else this compares one thread with itself)
      expect(runs.mock.calls.map(([c]) => c.kernel.replace(/_scalar$/, ''))).toEqual(
        ['sparse_rows', 'transpose', 'sparse_forward', 'transpose', 'sparse_weight_grad', 'transpose']);
      runs.mockRestore();
      expect(got.total).toBe(base.total);
      expect(got.cnt).toEqual(base.cnt);
      for (const k of ['idx', 'val', 'wt', 'y', 'dwt', 'dW'] as const) expectSameBits(got[k], base[k]);
    }
    // and the one-thread results are right
    const W = randomF32(O * D_T, 1), bias = randomF32(O, 2), dy = randomF32(B_T * O, 3), dW0 = randomF32(O * D_T, 4);
    check(`${variant} threads y`, base.y, forward64(x, W, bias, B_T, D_T, O), atolFor(D_T), RTOL);
    check(`${variant} threads dW`, base.dW, weightGrad64(dW0, dy, x, B_T, D_T, O), atolFor(B_T), RTOL);
  });
});

// ---- 6. the model: sparseInput on and off ----

const MNIST = { height: 28, width: 28, classes: 10 };
const RELU = { activation: 'relu' as const, alpha: 0.01, dropout: 0 };
const SGD: Omit<OptimizerStep, 'step'> = { kind: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
const B_M = 64, STEPS = 3;

/**
 * STEPS SGD steps of `arch` on be from the same initial weights, batch s = rows [s*B, (s+1)*B) of
 * x; returns the parameters and how often the sparse kernels ran.
 */
function train(be: Backend, arch: string, sparseInput: boolean, x: Float32Array, labels: ArrayLike<number>) {
  const model = new Model(be, parseArch(arch, RELU, MNIST), B_M, { sparseInput });
  model.init(new Rng(7), 'he');
  const init = model.params.slice();
  const fwd = vi.spyOn(be, 'sparseForward'), grad = vi.spyOn(be, 'sparseWeightGrad'), rows = vi.spyOn(be, 'sparseRows');
  const xb = putF32(be, x), y = putI32(be, labels), dl = be.f32(B_M * 10);
  const N = model.params.length, m = be.f32(N), v = be.f32(N);
  for (let s = 0; s < STEPS; s++) {
    model.zeroGrad();
    const logits = model.forward(xb.subarray(s * B_M * 784), B_M, { training: true, rng: null });
    be.softmaxCrossEntropy(dl, logits, y.subarray(s * B_M), B_M, 10);
    model.backward(dl, B_M);
    be.optimizerStep(model.params, model.grads, m, v, N, { ...SGD, step: s + 1 });
  }
  const calls = { rows: rows.mock.calls.length, forward: fwd.mock.calls.length, grad: grad.mock.calls.length };
  vi.restoreAllMocks();
  expect(model.params.some((p, i) => p !== init[i])).toBe(true); // it trained
  return { params: model.params.slice(), calls };
}

describe('Model with sparseInput on and off', () => {
  const { x, y } = mnistRows(STEPS * B_M);
  const sparseRan = { rows: STEPS, forward: STEPS, grad: STEPS };
  const denseRan = { rows: 0, forward: 0, grad: 0 };

  it.each(exact.map((be) => be.variant))('784-32-10 on wasm-%s: bit-identical parameters after SGD steps on MNIST', (variant) => {
    const sparse = train(new WasmBackend(variant), '784-32-10', true, x, y);
    const dense = train(new WasmBackend(variant), '784-32-10', false, x, y);
    expect(sparse.calls).toEqual(sparseRan);
    expect(dense.calls).toEqual(denseRan);
    expectSameBits(sparse.params, dense.params);
  });

  it('784-32-10 on ts: the same parameters within 1e-5', () => {
    const sparse = train(new TsBackend(), '784-32-10', true, x, y);
    const dense = train(new TsBackend(), '784-32-10', false, x, y);
    expect(sparse.calls).toEqual(sparseRan);
    expect(dense.calls).toEqual(denseRan);
    check('ts model 784-32-10', sparse.params, dense.params, 1e-5, 0);
  });

  it('784-10-10 on wasm-simd (forward on gemm\'s dot path): the same parameters within 1e-5', () => {
    const sparse = train(new WasmBackend('simd'), '784-10-10', true, x, y);
    const dense = train(new WasmBackend('simd'), '784-10-10', false, x, y);
    expect(sparse.calls).toEqual(sparseRan);
    check('wasm-simd model 784-10-10', sparse.params, dense.params, 1e-5, 0);
  });

  it('dense inputs take the dense path: all rows, or only rows past the sampled 4', () => {
    const noise = randomF32(STEPS * B_M * 784, 11, 0, 1);
    const dense = train(new WasmBackend('simd'), '784-32-10', false, noise, y).params;
    // all dense: the sample says so, nothing is compressed
    const all = train(new WasmBackend('simd'), '784-32-10', true, noise, y);
    expect(all.calls).toEqual(denseRan);
    expectSameBits(all.params, dense);
    // the first 4 rows of each batch sparse, the rest dense: compressed, found too dense, gemm
    const mixed = noise.slice();
    for (let s = 0; s < STEPS; s++) mixed.set(x.subarray(s * B_M * 784, (s * B_M + 4) * 784), s * B_M * 784);
    const got = train(new WasmBackend('simd'), '784-32-10', true, mixed, y);
    expect(got.calls).toEqual({ rows: STEPS, forward: 0, grad: 0 });
    expectSameBits(got.params, train(new WasmBackend('simd'), '784-32-10', false, mixed, y).params);
  });
});
