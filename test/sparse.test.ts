// The zero-skipping first dense layer (assembly/sparse.ts and its twin src/engine/ref/sparse.ts):
// sparseRows against plain JS; sparseForward and sparseWeightGrad, which take the layer's W and dW
// (O,D) directly, against float64 oracles on every backend, for output counts across the kernels'
// vector blocks and partial last vectors, with rows at b*D (sparseRows' layout) and packed in
// another order (a kept input's); the claim that wasm-simd/relaxed give gemm's very bits (forward
// off gemm's dot path, dW off its K-blocked path); that the wasm kernels write nothing but y and
// dW (the transposed weights live in a scratch of the backend's own); 1, 2 and 3 threads bit for
// bit (sparseRows splits rows, forward and dW split output units, or for a narrow layer rows and
// dW's fixed row blocks); and a Model trained with sparseInput on and off, and with kept inputs.
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Backend, OptimizerStep, SparseRows } from '../src/engine/backend.js';
import { loadIdxImages, loadIdxLabels, defaultDataDir } from '../src/data/index.js';
import { TsBackend } from '../src/engine/ts.js';
import { ThreadedWasmBackend } from '../src/engine/threads/backend.js';
import { WasmBackend, dotPath, kBlocked, relaxedSupported, sparseBlocked, type WasmVariant } from '../src/engine/wasm.js';
import { SPARSE_MAX_DENSITY, SPARSE_MIN_UNITS, SPARSE_ROWS } from '../src/model/layers/sparse_dense.js';
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

/** The first n (<= 2000) test images of the bundled MNIST, scaled to [0, 1] (about 18% of the pixels are nonzero). */
let mnistCache: { x: Float32Array; y: Uint8Array } | null = null;
function mnistRows(n: number): { x: Float32Array; y: Uint8Array } {
  if (!mnistCache) {
    const dir = defaultDataDir();
    const img = loadIdxImages(join(dir, 't10k-images-idx3-ubyte.gz'));
    const x = new Float32Array(2000 * 784);
    for (let i = 0; i < x.length; i++) x[i] = img.images[i] / 255;
    mnistCache = { x, y: loadIdxLabels(join(dir, 't10k-labels-idx1-ubyte.gz')).slice(0, 2000) };
  }
  return { x: mnistCache.x.subarray(0, n * 784), y: mnistCache.y.subarray(0, n) };
}

/** The compressed rows in sparseRows' layout, by plain JS: row b's slots are [b*D, b*D + cnt[b]). */
function compress(x: Float32Array, B: number, D: number) {
  const idx = new Int32Array(B * D), val = new Float32Array(B * D), cnt = new Int32Array(B);
  const start = Int32Array.from({ length: B }, (_, b) => b * D);
  let total = 0;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < D; k++) {
      const v = x[b * D + k];
      if (v !== 0) { idx[b * D + cnt[b]] = k; val[b * D + cnt[b]] = v; cnt[b]++; }
    }
    total += cnt[b];
  }
  return { idx, val, start, cnt, total };
}

/**
 * The same rows packed the way a kept input is, but last row first (so a kernel that assumed
 * start[b] = b*D, or rows in order, would read the wrong slots), after 3 unused slots.
 */
function packReversed(c: ReturnType<typeof compress>, B: number, D: number) {
  const idx = new Int32Array(c.total + 3).fill(-1), val = new Float32Array(c.total + 3).fill(NaN);
  const start = new Int32Array(B), cnt = c.cnt.slice();
  for (let b = B - 1, at = 3; b >= 0; at += cnt[b--]) {
    start[b] = at;
    idx.set(c.idx.subarray(b * D, b * D + cnt[b]), at);
    val.set(c.val.subarray(b * D, b * D + cnt[b]), at);
  }
  return { idx, val, start, cnt };
}

/** Compressed rows in be's memory, `shift` floats past alignment. */
function putRows(be: Backend, r: { idx: Int32Array; val: Float32Array; start: Int32Array; cnt: Int32Array },
  shift = 0): SparseRows {
  return { idx: putI32(be, r.idx, shift), val: putF32(be, r.val, shift), start: putI32(be, r.start, shift),
    cnt: putI32(be, r.cnt, shift) };
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

/** Tolerance of an f32 sum of K products of values in [-1, 1] (as in matmul.test.ts). */
const atolFor = (K: number) => 1e-6 * (K + 1);
const RTOL = 1e-5;

/** Guard floats on either side of every output: a kernel must write inside its output only. */
const G = 8, GUARD = -7.25;
/** A copy of `init` in be's memory between G floats of GUARD each side, `shift` floats past alignment. */
function guarded(be: Backend, init: Float32Array, shift: number): Float32Array {
  const all = be.f32(init.length + 2 * G + shift).subarray(shift).fill(GUARD);
  all.set(init, G);
  return all.subarray(G, G + init.length);
}
function expectGuardsKept(a: Float32Array): void {
  const before = new Float32Array(a.buffer, a.byteOffset - 4 * G, G);
  const after = new Float32Array(a.buffer, a.byteOffset + a.byteLength, G);
  expect([...before, ...after]).toEqual(new Array(2 * G).fill(GUARD));
}

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
        const start = putI32(be, new Int32Array(B + SENTINEL).fill(-7), shift);
        const cnt = putI32(be, new Int32Array(B + SENTINEL).fill(-7), shift);
        const total = be.sparseRows({ idx, val, start, cnt }, putF32(be, x0, shift), B, D);
        expect(total).toBe(want.total);
        expect(Array.from(cnt.subarray(0, B))).toEqual(Array.from(want.cnt));
        expect(Array.from(start.subarray(0, B))).toEqual(Array.from(want.start));
        for (let b = 0; b < B; b++) {
          const s = b * D, e = s + want.cnt[b];
          expect(Array.from(idx.subarray(s, e))).toEqual(Array.from(want.idx.subarray(s, e)));
          expectSameBits(val.subarray(s, e), want.val.subarray(s, e));
        }
        expect(Array.from(idx.subarray(B * D))).toEqual(new Array(SENTINEL).fill(-7));
        expect(Array.from(cnt.subarray(B))).toEqual(new Array(SENTINEL).fill(-7));
        expect(Array.from(start.subarray(B))).toEqual(new Array(SENTINEL).fill(-7));
        expect(val.subarray(B * D).every(Number.isNaN)).toBe(true);
      }
      be.release(mark);
      // the cases hold every kind of row: all-zero rows count 0, all-nonzero rows D
      if (B > 1) expect([want.cnt[0], want.cnt[1]]).toEqual([0, D]);
    });
  });

// ---- 2. sparseForward and sparseWeightGrad on a grid of shapes ----

// B, D (D = 1 and 5 not multiples of 4) and O: O across the forward's 5-vector and the gradient's
// 8-vector blocks, with partial last vectors of 1, 2 and 3 lanes
const GRID_B = [1, 3, 17, 130];
const GRID_D = [1, 5, 33, 784];
const GRID_O = [1, 3, 4, 5, 10, 13, 16, 17, 20, 21, 31, 32, 33, 37, 93, 128];

/** Inputs (dense and compressed), W, bias, dy, a nonzero dW0 and the float64 oracles, cached. */
const gridCache = new Map<string, ReturnType<typeof makeCase>>();
function makeCase(B: number, D: number, O: number) {
  const seed = B * 1_000_003 + D * 1009 + O;
  const x = sparseX(B, D, 0.2, seed), W = randomF32(O * D, seed + 1), bias = randomF32(O, seed + 2);
  const dy = randomF32(B * O, seed + 3), dW0 = randomF32(O * D, seed + 4);
  return {
    x, W, bias, dy, dW0, c: compress(x, B, D),
    withBias: forward64(x, W, bias, B, D, O), noBias: forward64(x, W, null, B, D, O),
    dW: weightGrad64(dW0, dy, x, B, D, O),
  };
}
function gridCase(B: number, D: number, O: number) {
  const key = `${B},${D},${O}`;
  if (!gridCache.has(key)) gridCache.set(key, makeCase(B, D, O));
  return gridCache.get(key)!;
}

/**
 * The compressed rows (shift 0: sparseRows' layout; 1: packed last row first), W, bias and dy in
 * be's memory, `shift` floats past alignment.
 */
function operands(be: Backend, B: number, D: number, O: number, shift: number) {
  const { c, W, bias, dy } = gridCase(B, D, O);
  return {
    rows: putRows(be, shift ? packReversed(c, B, D) : c, shift),
    W: putF32(be, W, shift), bias: putF32(be, bias, shift), dy: putF32(be, dy, shift),
  };
}

/** sparseForward into a y prefilled with NaN (every element must be written) between guards. */
function runForward(be: Backend, B: number, D: number, O: number, withBias: boolean, shift: number) {
  const op = operands(be, B, D, O, shift);
  const y = guarded(be, new Float32Array(B * O).fill(NaN), shift);
  be.sparseForward(y, op.rows, op.W, withBias ? op.bias : null, B, D, O);
  expectGuardsKept(y);
  return y;
}

/** sparseWeightGrad into a copy of the case's nonzero dW0 between guards. */
function runWeightGrad(be: Backend, B: number, D: number, O: number, shift: number) {
  const op = operands(be, B, D, O, shift);
  const dW = guarded(be, gridCase(B, D, O).dW0, shift);
  be.sparseWeightGrad(dW, op.rows, op.dy, B, D, O);
  expectGuardsKept(dW);
  return dW;
}

describe.each(backends.map((be) => [be.name, be] as const))('%s: sparse kernels against float64', (name, be) => {
  it.each(GRID_D)('D=%i, every B and O, bias on/off: forward', (D) => {
    let n = 0;
    for (const B of GRID_B) {
      for (const O of GRID_O) {
        const want = gridCase(B, D, O);
        for (const withBias of [false, true]) {
          const mark = be.mark();
          check(`${name} sparseForward`, runForward(be, B, D, O, withBias, n++ % 2), withBias ? want.withBias : want.noBias,
            atolFor(D), RTOL);
          be.release(mark);
        }
      }
    }
  });

  it.each(GRID_D)('D=%i, every B and O: dW0 + dy^T x from a nonzero dW0', (D) => {
    let n = 0;
    for (const B of GRID_B) {
      for (const O of GRID_O) {
        const mark = be.mark();
        check(`${name} sparseWeightGrad`, runWeightGrad(be, B, D, O, n++ % 2), gridCase(B, D, O).dW, atolFor(B), RTOL);
        be.release(mark);
      }
    }
  });
});

describe.each(exact.map((be) => [be.name, be] as const))('%s: sparse kernels give gemm\'s bits', (_name, be) => {
  // gemm(y, x, W, bias, B, O, D, false, true) takes the packed path (one k-ordered sum per
  // element) unless dotPath: that is every O > 12, and O <= 12 when D < 32.
  it.each(GRID_D)('D=%i, every B, O off the dot path, bias on/off: forward', (D) => {
    let compared = 0;
    for (const B of GRID_B) {
      for (const O of GRID_O.filter((o) => !dotPath(o, D, false, true))) {
        for (const withBias of [false, true]) {
          const mark = be.mark();
          const { x, W, bias } = gridCase(B, D, O);
          const y = runForward(be, B, D, O, withBias, 1);
          const g = be.f32(B * O);
          be.gemm(g, putF32(be, x), putF32(be, W), withBias ? putF32(be, bias) : null, B, O, D, false, true, false);
          expectSameBits(y, g);
          compared++;
          be.release(mark);
        }
      }
    }
    // every B with O = 13, 16, 17, 20, 21, 31, 32, 33, 37, 93, 128 at least
    expect(compared).toBeGreaterThanOrEqual(4 * 11 * 2);
  });

  // gemm(dW, dy, x, null, O, D, B, transA, accumulate) sums over the rows in order unless
  // kBlocked (O <= 12 and B >= 512): never for the grid's B <= 130.
  it.each(GRID_D)('D=%i, every B and O: dW from a nonzero dW0', (D) => {
    for (const B of GRID_B) {
      for (const O of GRID_O) {
        expect(kBlocked(O, D, B, true, false, false)).toBe(false);
        const mark = be.mark();
        const { x, dy, dW0 } = gridCase(B, D, O);
        const got = runWeightGrad(be, B, D, O, 1);
        const g = putF32(be, dW0);
        be.gemm(g, putF32(be, dy), putF32(be, x), null, O, D, B, true, false, true);
        expectSameBits(got, g);
        be.release(mark);
      }
    }
  });
});

// ---- 3. sparseWeightGrad over long batches ----

// (B, D, O): the last two are K-blocked in gemm (O <= 12, B >= 512), where only the tolerance
// applies, and row-blocked in the wasm sparse kernels (under 32 units, B >= 512)
const LONG_DW: [number, number, number][] = [[600, 784, 33], [600, 50, 5], [513, 784, 10]];

it('only the last two long dW shapes are K-blocked in gemm and row-blocked in the sparse kernels', () => {
  expect(LONG_DW.filter(([B, D, O]) => kBlocked(O, D, B, true, false, false))).toEqual([[600, 50, 5], [513, 784, 10]]);
  expect(LONG_DW.filter(([B, , O]) => sparseBlocked(B, O))).toEqual([[600, 50, 5], [513, 784, 10]]);
});

describe.each(backends.map((be) => [be.name, be] as const))('%s: sparse dW, long batches', (name, be) => {
  it.each(LONG_DW)('B=%i D=%i O=%i: the float64 oracle, and gemm\'s bits where it is not K-blocked', (B, D, O) => {
    const mark = be.mark();
    const { x, dy, dW0, dW: want } = gridCase(B, D, O);
    const got = runWeightGrad(be, B, D, O, 1);
    check(`${name} sparseWeightGrad`, got, want, atolFor(B), RTOL);
    if (exact.includes(be as WasmBackend) && !kBlocked(O, D, B, true, false, false)) {
      const g = putF32(be, dW0);
      be.gemm(g, putF32(be, dy), putF32(be, x), null, O, D, B, true, false, true);
      expectSameBits(got, g);
    }
    be.release(mark);
  });
});

// ---- 4. threads: the 2- and 3-thread backends give one thread's bits ----

/**
 * The layer's three ops on x0 (B,D) with W (O,D), bias, dy and a nonzero dW0 (from fixed seeds):
 * compress (each backend its own), forward, dW. Returns copies of the results.
 */
function layerOps(be: Backend, x0: Float32Array, B: number, D: number, O: number) {
  const mark = be.mark();
  const W = putF32(be, randomF32(O * D, 1)), bias = putF32(be, randomF32(O, 2));
  const dy = putF32(be, randomF32(B * O, 3)), dW = putF32(be, randomF32(O * D, 4));
  const rows = { idx: be.i32(B * D), val: be.f32(B * D), start: be.i32(B), cnt: be.i32(B) }, y = be.f32(B * O);
  const total = be.sparseRows(rows, putF32(be, x0), B, D);
  be.sparseForward(y, rows, W, bias, B, D, O);
  be.sparseWeightGrad(dW, rows, dy, B, D, O);
  // the compressed rows as bits, only up to each row's count (the slots after it are scratch)
  const { start, cnt } = rows;
  const packed = (a: Int32Array | Float32Array) => {
    const out = new Float32Array(total);
    for (let b = 0, n = 0; b < B; n += cnt[b++]) out.set(new Float32Array(a.buffer, a.byteOffset + 4 * start[b], cnt[b]), n);
    return out;
  };
  const out = {
    total, cnt: Array.from(cnt), start: Array.from(start), idx: packed(rows.idx), val: packed(rows.val), y: y.slice(),
    dW: dW.slice(),
  };
  be.release(mark);
  return out;
}

const THREAD_VARIANTS: [WasmVariant, number[]][] = [['simd', [2, 3]], ['scalar', [2]]];
if (relaxedSupported()) THREAD_VARIANTS.push(['relaxed', [2]]);
// MNIST rows over the split thresholds (src/engine/threads/backend.ts): B*D >= 2^18 and B >= 16
// (sparseRows, 8-row chunks: 449 ends in a partial one); forward and dW split O >= 32 into 16-unit
// chunks when 2 * nonzeros * O >= GEMM_MIN_FLOP, which 449 rows (~63k nonzeros) pass even for O = 37.
// Narrower layers split rows and dW's row blocks: 1999 rows (~290k nonzeros) pass for O = 10.
const B_T = 449, B_N = 1999, D_T = 784;
const ALL = ['sparse_rows', 'sparse_forward', 'sparse_weight_grad'];
const NARROW = ['sparse_rows', 'sparse_forward_packed', 'sparse_weight_grad_blocks'];
// (B, O, the kernels that split): O = 128, 93 (3 threads: 32 + 32 + 29 units) and 37 (16 + 16 + 5);
// O = 31 and 10 by rows (1999: a partial 8-row group), dW by its 8 fixed blocks of 256 rows (the
// last 207; 3 threads take 3 + 3 + 2); 64 rows too few nonzeros (and rows) to split
const THREAD_CASES: [number, number, string[]][] = [
  [B_T, 128, ALL], [B_T, 93, ALL], [B_T, 37, ALL], [B_N, 31, NARROW], [B_N, 10, NARROW], [64, 128, []],
];

describe.each(THREAD_VARIANTS)('%s: threads', (variant, counts) => {
  const one = new WasmBackend(variant);
  it.each(THREAD_CASES)('B=%i O=%i: compress, forward and dW equal one thread bit for bit; split: %j', (B, O, split) => {
    const { x } = mnistRows(B);
    const base = layerOps(one, x, B, D_T, O);
    expect(base.total / (B * D_T)).toBeLessThan(SPARSE_MAX_DENSITY); // sparse enough for the layer
    for (const n of counts) {
      const be = threaded(variant, n);
      const runs = vi.spyOn(be.pool, 'run');
      const got = layerOps(be, x, B, D_T, O);
      // the ops that should split ran in one chunk per thread (else this compares one thread with itself)
      expect(runs.mock.calls.map(([c]) => `${c.kernel.replace(/_scalar$/, '')} in ${Math.ceil(c.total / c.chunkLen)}`))
        .toEqual(split.map((k) => `${k} in ${n}`));
      runs.mockRestore();
      expect(got.total).toBe(base.total);
      expect(got.cnt).toEqual(base.cnt);
      expect(got.start).toEqual(base.start);
      for (const k of ['idx', 'val', 'y', 'dW'] as const) expectSameBits(got[k], base[k]);
    }
    // and the one-thread results are right
    const W = randomF32(O * D_T, 1), bias = randomF32(O, 2), dy = randomF32(B * O, 3), dW0 = randomF32(O * D_T, 4);
    check(`${variant} threads y`, base.y, forward64(x, W, bias, B, D_T, O), atolFor(D_T), RTOL);
    check(`${variant} threads dW`, base.dW, weightGrad64(dW0, dy, x, B, D_T, O), atolFor(B), RTOL);
  });
});

// ---- 5. the wasm kernels write y and dW and their own scratch, nothing else ----

/**
 * On a fresh backend: the operands, then the first sparse call allocates the scratch of W
 * transposed (D x O rounded up to 16) right after them, then a tail block after the scratch.
 * A second forward and a dW must leave every word from the first operand to the end of the tail
 * as it was, except y, dW and the scratch.
 */
function expectOnlyOutputsWritten(be: WasmBackend, x: Float32Array, B: number, D: number, O: number) {
  const seed = B + D + O, c = compress(x, B, D);
  const m0 = be.mark();
  const rows = putRows(be, c);
  const W = putF32(be, randomF32(O * D, seed)), bias = putF32(be, randomF32(O, seed + 1));
  const dy = putF32(be, randomF32(B * O, seed + 2)), dW = putF32(be, randomF32(O * D, seed + 3));
  const y = be.f32(B * O);
  const s0 = be.mark();
  be.sparseForward(y, rows, W, bias, B, D, O);
  const s1 = be.mark();
  expect(s1 - s0).toBeGreaterThanOrEqual(4 * D * Math.ceil(O / 16) * 16); // the scratch is [s0, s1)
  const tail = putF32(be, randomF32(1024, seed + 4));
  const words = () => new Uint32Array(tail.buffer, m0, (be.mark() - m0) / 4);
  const before = words().slice(), yBefore = y.slice(), dWBefore = dW.slice();
  be.sparseForward(y, rows, W, bias, B, D, O);
  be.sparseWeightGrad(dW, rows, dy, B, D, O);
  const after = words();
  const range = (from: number, to: number) => [(from - m0) / 4, (to - m0) / 4];
  const allowed = [range(y.byteOffset, y.byteOffset + y.byteLength), range(dW.byteOffset, dW.byteOffset + dW.byteLength),
    range(s0, s1)];
  let bad = -1;
  for (let i = 0; i < before.length && bad < 0; i++) {
    if (before[i] !== after[i] && !allowed.some(([a, b]) => i >= a && i < b)) bad = i;
  }
  expect(bad, `word ${bad} of ${before.length} changed (byte ${m0 + 4 * bad}; scratch [${s0}, ${s1}))`).toBe(-1);
  expectSameBits(y, yBefore); // the same forward again
  expect(dW.some((v, i) => v !== dWBefore[i])).toBe(true);
}

describe('wasm sparse kernels write nothing outside y, dW and their scratch', () => {
  it.each(wasm.map((be) => be.variant))('wasm-%s, one thread: O = 37 and 3 (partial last vectors), D = 33 and 5', (variant) => {
    expectOnlyOutputsWritten(new WasmBackend(variant), sparseX(17, 33, 0.2, 1), 17, 33, 37);
    expectOnlyOutputsWritten(new WasmBackend(variant), sparseX(5, 5, 0.4, 2), 5, 5, 3);
  });

  it.each([2, 3])('wasm-simd, %i threads: MNIST rows, O = 93 split across the threads', (threads) => {
    const be = threaded('simd', threads);
    const runs = vi.spyOn(be.pool, 'run');
    expectOnlyOutputsWritten(be, mnistRows(B_T).x, B_T, 784, 93);
    expect(runs.mock.calls.map(([c]) => c.kernel)).toEqual(['sparse_forward', 'sparse_forward', 'sparse_weight_grad']);
    runs.mockRestore();
  });

  it.each([2, 3])('wasm-simd, %i threads: MNIST rows, O = 10 split by rows and row blocks', (threads) => {
    const be = threaded('simd', threads);
    const runs = vi.spyOn(be.pool, 'run');
    expectOnlyOutputsWritten(be, mnistRows(B_N).x, B_N, 784, 10);
    expect(runs.mock.calls.map(([c]) => c.kernel))
      .toEqual(['sparse_forward_packed', 'sparse_forward_packed', 'sparse_weight_grad_blocks']);
    runs.mockRestore();
  });
});

// ---- 6. the model: sparseInput on and off ----

const MNIST = { height: 28, width: 28, classes: 10 };
const RELU = { activation: 'relu' as const, alpha: 0.01, dropout: 0 };
const SGD: Omit<OptimizerStep, 'step'> = { kind: 'sgd', lr: 0.1, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };
const B_M = 64, STEPS = 3;
const B_DEFAULT = B_M, STEPS_DEFAULT = STEPS;

/**
 * STEPS SGD steps of `arch` on be from the same initial weights, batch s = rows [s*B, (s+1)*B) of
 * x; returns the parameters and how often the sparse kernels ran.
 */
function train(be: Backend, arch: string, sparseInput: boolean, x: Float32Array, labels: ArrayLike<number>,
  B_M = B_DEFAULT, STEPS = STEPS_DEFAULT) {
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

  it(`784-10-10 (under SPARSE_MIN_UNITS = ${SPARSE_MIN_UNITS} units) keeps the dense kernels`, () => {
    const on = train(new WasmBackend('simd'), '784-10-10', true, x, y);
    const off = train(new WasmBackend('simd'), '784-10-10', false, x, y);
    expect(on.calls).toEqual(denseRan);
    expectSameBits(on.params, off.params);
  });

  it(`batches over SPARSE_ROWS (${SPARSE_ROWS}) go through in slices with the same bits, on 1 and 2 threads`, () => {
    const big = 600, slices = Math.ceil(big / SPARSE_ROWS);
    const { x: xb, y: yb } = mnistRows(big);
    const dense = train(new WasmBackend('simd'), '784-32-10', false, xb, yb, big, 1).params;
    for (const be of [new WasmBackend('simd'), threaded('simd', 2)]) {
      const got = train(be, '784-32-10', true, xb, yb, big, 1);
      // forward and backward each compress every slice (the backward again: the buffers hold one)
      expect(got.calls).toEqual({ rows: 2 * slices, forward: slices, grad: slices });
      expectSameBits(got.params, dense);
    }
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

// ---- 7. kept inputs (ForwardContext.repeat): compressed once, then x is not read ----

describe('Model with kept inputs', () => {
  const EPOCHS = 3;
  /**
   * EPOCHS passes of SGD over STEPS batches of B rows, batch s with repeat s when keyed; from
   * the second pass the batches in x are overwritten with NaN when keyed (a kept input is not read).
   */
  function trainKept(be: Backend, arch: string, keyed: boolean, B: number, STEPS = STEPS_DEFAULT) {
    const { x, y } = mnistRows(STEPS * B);
    const model = new Model(be, parseArch(arch, RELU, MNIST), B);
    model.init(new Rng(7), 'uniform');
    const rows = vi.spyOn(be, 'sparseRows'), fwd = vi.spyOn(be, 'sparseForward');
    const xb = putF32(be, x), yb = putI32(be, y), dl = be.f32(B * 10);
    const N = model.params.length, m = be.f32(N), v = be.f32(N);
    let kept = 0;
    for (let e = 0; e < EPOCHS; e++) {
      for (let s = 0; s < STEPS; s++) {
        const ctx = { training: true, rng: null, repeat: keyed ? s : undefined };
        if (keyed && !model.readsInput(ctx)) { kept++; xb.subarray(s * B * 784, (s + 1) * B * 784).fill(NaN); }
        model.zeroGrad();
        const logits = model.forward(xb.subarray(s * B * 784), B, ctx);
        be.softmaxCrossEntropy(dl, logits, yb.subarray(s * B), B, 10);
        model.backward(dl, B);
        be.optimizerStep(model.params, model.grads, m, v, N, { ...SGD, step: e * STEPS + s + 1 });
      }
    }
    const calls = { rows: rows.mock.calls.length, forward: fwd.mock.calls.length, kept };
    vi.restoreAllMocks();
    return { params: model.params.slice(), calls };
  }

  it('784-32-10: the same bits as compressing every batch, each batch compressed in the first pass only', () => {
    const got = trainKept(new WasmBackend('simd'), '784-32-10', true, B_M);
    const fresh = trainKept(new WasmBackend('simd'), '784-32-10', false, B_M);
    // first pass: each batch counted, then compressed into its own buffers (2 calls); later passes read them
    expect(got.calls).toEqual({ rows: 2 * STEPS, forward: EPOCHS * STEPS, kept: (EPOCHS - 1) * STEPS });
    expect(fresh.calls).toEqual({ rows: EPOCHS * STEPS, forward: EPOCHS * STEPS, kept: 0 });
    expectSameBits(got.params, fresh.params);
  });

  it(`784-10-10 (under SPARSE_MIN_UNITS) skips zeros when kept: gemm's results within rounding; 1, 2, 3 threads bit for bit`, () => {
    // one batch of B_N rows: 8 slices of SPARSE_ROWS, and enough nonzeros (~290k) for the threads to split
    const slices = Math.ceil(B_N / SPARSE_ROWS);
    const dense = trainKept(new WasmBackend('simd'), '784-10-10', false, B_N, 1);
    expect(dense.calls.forward).toBe(0);
    const one = trainKept(new WasmBackend('simd'), '784-10-10', true, B_N, 1);
    expect(one.calls).toEqual({ rows: 2 * slices, forward: EPOCHS, kept: EPOCHS - 1 });
    check('kept 784-10-10 vs gemm', one.params, dense.params, 1e-5, 1e-4);
    for (const n of [2, 3]) {
      const be = threaded('simd', n);
      const runs = vi.spyOn(be.pool, 'run');
      const got = trainKept(be, '784-10-10', true, B_N, 1);
      const kernels = new Set(runs.mock.calls.map(([c]) => c.kernel));
      runs.mockRestore();
      expect(kernels).toContain('sparse_forward_packed');
      expect(kernels).toContain('sparse_weight_grad_blocks');
      expectSameBits(got.params, one.params);
    }
  });

  it('an input too dense to skip zeros is kept as "dense": gemm, and x is read every time', () => {
    const be = new WasmBackend('simd');
    const model = new Model(be, parseArch('784-32-10', RELU, MNIST), 8);
    const x = putF32(be, randomF32(8 * 784, 5, 0, 1));
    const fwd = vi.spyOn(be, 'sparseForward');
    const ctx = { training: false, rng: null, repeat: 0 };
    for (let i = 0; i < 2; i++) model.forward(x, 8, ctx);
    expect(model.readsInput(ctx)).toBe(true);
    expect(fwd).not.toHaveBeenCalled();
    vi.restoreAllMocks();
  });
});
