// The worker pool and the threaded wasm backend: every split kernel gives the same bytes as one
// thread, a few training steps give bit-identical parameters for 1, 2 and 3 threads, a failing
// kernel in a worker surfaces as an Error in the main thread, and workers never keep the process
// alive.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, OptimizerStep } from '../src/engine/backend.js';
import { createBackend } from '../src/engine/index.js';
import { projectRoot } from '../src/engine/root.js';
import { ThreadedWasmBackend } from '../src/engine/threads/backend.js';
import { LAYOUT } from '../src/engine/threads/layout.js';
import type { Conv2dShape } from '../src/engine/backend.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { KernelTrapError, WasmBackend, enableRelaxedSimd, relaxedSupported, type WasmVariant } from '../src/engine/wasm.js';
import { Rng } from '../src/util/rng.js';
import { randomF32 } from './helpers.js';

const open: ThreadedWasmBackend[] = [];
function threaded(threads: number): ThreadedWasmBackend {
  const b = new ThreadedWasmBackend('simd', threads);
  open.push(b);
  return b;
}
afterAll(() => { for (const b of open) b.dispose(); });

function fill(be: Backend, src: Float32Array): Float32Array {
  const a = be.f32(src.length);
  a.set(src);
  return a;
}

function bytesEqual(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength),
    Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe('threaded kernels equal one thread bit for bit', () => {
  const one = new WasmBackend('simd');
  const two = threaded(2);
  const three = threaded(3);

  // Shapes above the split threshold, odd edges included, all four transpose pairs; the seed's
  // forward (1001,10,784) takes the dot path with transB, the narrow or short path otherwise.
  // Without bias, (10,784,1000) and (12,200,1003) with A transposed take the K blocks.
  const shapes: [number, number, number][] = [[128, 512, 784], [517, 129, 67], [37, 301, 200], [300, 33, 257],
    [1001, 10, 784], [10, 784, 1000], [12, 200, 1003]];
  for (const [M, N, K] of shapes) {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`gemm ${M}x${N}x${K} transA=${tA} transB=${tB} with bias and accumulate`, () => {
        const a = randomF32(M * K, 1), b = randomF32(K * N, 2), bias = randomF32(N, 3), c0 = randomF32(M * N, 4);
        const outs = [one, two, three].map((be) => {
          const c = fill(be, c0);
          be.gemm(c, fill(be, a), fill(be, b), fill(be, bias), M, N, K, tA, tB, true);
          be.gemm(c, fill(be, a), fill(be, b), null, M, N, K, tA, tB, true);
          return c;
        });
        expect(bytesEqual(outs[1], outs[0])).toBe(true);
        expect(bytesEqual(outs[2], outs[0])).toBe(true);
        // and the product is a real one (not, say, both left zero)
        expect(outs[0].some((x, i) => x !== c0[i])).toBe(true);
      });
    }
  }

  const N = 1_000_003; // above every element-wise threshold, with an N % 4 tail
  for (const kind of ['relu', 'leaky_relu', 'sigmoid', 'tanh'] as const) {
    it(`activation ${kind} forward and backward`, () => {
      const x = randomF32(N, 5, -4, 4), d = randomF32(N, 6);
      const res = [one, two, three].map((be) => {
        const out = be.f32(N), dinp = be.f32(N);
        be.activationForward(kind, out, fill(be, x), N, 0.01);
        be.activationBackward(kind, dinp, fill(be, d), out, N, 0.01);
        return [out, dinp];
      });
      for (const r of res.slice(1)) {
        expect(bytesEqual(r[0], res[0][0])).toBe(true);
        expect(bytesEqual(r[1], res[0][1])).toBe(true);
      }
    });
  }

  for (const kind of ['sgd', 'momentum', 'nesterov', 'adam', 'adamw'] as const) {
    it(`optimizer step ${kind}`, () => {
      const w = randomF32(N, 7), g = randomF32(N, 8), m0 = randomF32(N, 9), v0 = randomF32(N, 10, 0, 1);
      const h: OptimizerStep = { kind, lr: 0.01, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8,
        weightDecay: 1e-4, step: 3 };
      const res = [one, two, three].map((be) => {
        const p = fill(be, w), m = fill(be, m0), v = fill(be, v0);
        be.optimizerStep(p, fill(be, g), m, v, N, h);
        return [p, m, v];
      });
      for (const r of res.slice(1)) for (let i = 0; i < 3; i++) expect(bytesEqual(r[i], res[0][i])).toBe(true);
      expect(res[0][0].some((x, i) => x !== w[i])).toBe(true);
    });
  }

  it('dropout forward (same mask: the seed is offset per range) and backward', () => {
    // chunk starts beyond 2^53 / 0x9e3779b9 (3.4M): the seed offset must wrap mod 2^32 exactly
    const N = (1 << 22) + 3;
    const x = randomF32(N, 11), d = randomF32(N, 12);
    const res = [one, two, three].map((be) => {
      const out = be.f32(N), mask = be.f32(N), dinp = be.f32(N);
      be.dropoutForward(out, mask, fill(be, x), N, 0.3, 0xdeadbeef);
      be.dropoutBackward(dinp, fill(be, d), mask, N);
      return [out, mask, dinp];
    });
    for (const r of res.slice(1)) for (let i = 0; i < 3; i++) expect(bytesEqual(r[i], res[0][i])).toBe(true);
    let zeros = 0;
    for (const m of res[0][1]) if (m === 0) zeros++;
    const dropped = zeros / N;
    expect(dropped).toBeGreaterThan(0.29);
    expect(dropped).toBeLessThan(0.31);
  });

  // C = 1: the single-channel path (assembly/conv/single.ts)
  for (const [stride, pad, C] of [[1, 2, 3], [2, 1, 3], [1, 0, 1], [1, 2, 1]]) {
    it(`conv2d forward (chunks of images), stride ${stride} pad ${pad} C ${C}, and after release()`, () => {
      const B = 29, H = 28, W = 28, OC = 8, KH = 5, KW = 5; // above the split threshold
      const OH = Math.floor((H + 2 * pad - KH) / stride) + 1, OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
      const sh = { B, C, H, W, OC, KH, KW, stride, pad, OH, OW };
      const x = randomF32(B * C * H * W, 31), w = randomF32(OC * C * KH * KW, 32), bias = randomF32(OC, 33);
      const res = [one, two, three].map((be) => {
        const run = () => {
          const out = be.f32(B * OC * OH * OW);
          be.conv2dForward(out, fill(be, x), fill(be, w), fill(be, bias), sh);
          return out.slice();
        };
        const mark = be.mark();
        const first = run();
        be.release(mark); // frees the conv scratch too: the next call must allocate it again
        be.f32(1 << 16).fill(NaN); // and not use what now lives there
        const second = run();
        expect(Array.from(second)).toEqual(Array.from(first));
        return first;
      });
      expect(bytesEqual(res[1], res[0])).toBe(true);
      expect(bytesEqual(res[2], res[0])).toBe(true);
      expect(res[0].some((v) => v !== 0)).toBe(true);
    });
  }

  // OC = 22, K = 75. Stride 1 splits the 3*75 (8-channel block, weight) units: chunks of 113/112
  // (2 threads) start inside a kernel row and a block, of 75 (3 threads) on block edges; the last
  // block has 6 channels. Stride 2 splits output channels: chunks of 12 or 8 rows, the last one
  // with 2 rows past the 4-row blocks. dweight and dbias start non-zero (they accumulate) and
  // take two calls; pad 0 reads the images in place. C = 1 (single.ts): 75 units, chunks of 38/37
  // start inside a kernel row and a block.
  for (const [stride, pad, C] of [[1, 2, 3], [2, 1, 3], [1, 0, 3], [1, 0, 1], [1, 2, 1]]) {
    for (const withDinp of [true, false]) {
      for (const withBias of [true, false]) {
        it(`conv2d backward stride ${stride} pad ${pad} C ${C}${withDinp ? '' : ', no dinp'}${withBias ? '' : ', no dbias'}`, () => {
          const res = [one, two, three].map((be) => convBackward(be, stride, pad, C, withDinp, withBias));
          for (const r of res.slice(1)) for (let i = 0; i < 3; i++) expect(bytesEqual(r[i], res[0][i])).toBe(true);
          const d0 = randomF32(22 * C * 25, 42);
          expect(res[0][0].some((v, i) => v !== d0[i])).toBe(true);
          if (withDinp) expect(res[0][2].some((v) => v !== 0)).toBe(true);
        });
      }
    }
  }

  // Chunks of images; max pooling's argmax stays batch-wide (the i0 argument). 2x2 stride 2 takes
  // the SIMD paths (25x23: rows and columns left past the last window), 3x3 stride 2 the scalar ones.
  for (const [k, stride, H, W] of [[2, 2, 24, 24], [2, 2, 25, 23], [3, 2, 24, 24]]) {
    it(`max and avg pooling k${k} s${stride} ${H}x${W} (chunks of images)`, () => {
      const B = 29, C = 16; // B*C*H*W above the split threshold
      const OH = Math.floor((H - k) / stride) + 1, OW = Math.floor((W - k) / stride) + 1;
      const p = { B, C, H, W, k, stride, OH, OW };
      const x = randomF32(B * C * H * W, 51), d = randomF32(B * C * OH * OW, 52);
      const res = [one, two, three].map((be) => {
        const out = be.f32(B * C * OH * OW), arg = be.i32(B * C * OH * OW), dinp = be.f32(B * C * H * W).fill(NaN);
        const avg = be.f32(B * C * OH * OW), davg = be.f32(B * C * H * W).fill(NaN);
        be.maxPoolForward(out, arg, fill(be, x), p);
        be.maxPoolBackward(dinp, fill(be, d), arg, p);
        be.avgPoolForward(avg, fill(be, x), p);
        be.avgPoolBackward(davg, fill(be, d), p);
        return [out, new Float32Array(arg.buffer, arg.byteOffset, arg.length), dinp, avg, davg];
      });
      for (const r of res.slice(1)) for (let i = 0; i < 5; i++) expect(bytesEqual(r[i], res[0][i])).toBe(true);
      // argmax of the last image's first window points into that image, at its first pixel's window
      const arg = new Int32Array(res[0][1].buffer, res[0][1].byteOffset, B * C * OH * OW);
      const first = (B - 1) * C * H * W;
      expect(arg[(B - 1) * C * OH * OW]).toBeGreaterThanOrEqual(first);
      expect(arg[(B - 1) * C * OH * OW]).toBeLessThanOrEqual(first + (k - 1) * W + k - 1);
      expect(res[0][2].some((v) => Number.isNaN(v))).toBe(false);
      expect(res[0][4].some((v) => Number.isNaN(v))).toBe(false);
    });
  }

  for (const [B, C] of [[1003, 10], [517, 13], [64, 100]]) {
    it(`softmax-CE ${B}x${C}: same loss, dlogits and correct count (chunks of 8-row groups), in place too`, () => {
      const z0 = randomF32(B * C, B + C, -6, 6).map((v) => Math.round(v * 4) / 4); // ties for the count
      const rng = new Rng(B);
      // every third row labelled with its first maximum, so the counts are not all zero
      const argmax = (b: number) => { let m = 0; for (let j = 1; j < C; j++) if (z0[b * C + j] > z0[b * C + m]) m = j; return m; };
      const lab = Int32Array.from({ length: B }, (_, b) => (b % 3 ? rng.int(C) : argmax(b)));
      const res = [one, two, three].map((be) => {
        const z = fill(be, z0), y = be.i32(B), d = be.f32(B * C), correct = be.i32(1);
        y.set(lab);
        const loss = be.softmaxCrossEntropy(d, z, y, B, C, 3 * B, correct);
        const lossOnly = be.softmaxCrossEntropy(null, z, y, B, C);
        const count = correct[0];
        const inPlace = fill(be, z0);
        const loss2 = be.softmaxCrossEntropy(inPlace, inPlace, y, B, C, B, correct);
        return { loss, lossOnly, count, count2: correct[0], loss2, d, inPlace };
      });
      expect(res[0].count).toBeGreaterThan(0);
      for (const r of res.slice(1)) {
        expect([r.loss, r.lossOnly, r.count, r.count2, r.loss2]).toEqual(
          [res[0].loss, res[0].lossOnly, res[0].count, res[0].count2, res[0].loss2]);
        expect(bytesEqual(r.d, res[0].d)).toBe(true);
        expect(bytesEqual(r.inPlace, res[0].inPlace)).toBe(true);
      }
    });
  }

  it('gather_batch', () => {
    const R = 1000, D = 784, B = 401; // B*D above the split threshold
    const rng = new Rng(13);
    const img = new Uint8Array(R * D).map(() => rng.int(256));
    const lab = new Uint8Array(R).map(() => rng.int(10));
    const idx = Int32Array.from({ length: B }, () => rng.int(R));
    const res = [one, two, three].map((be) => {
      const images = be.u8(R * D), labels = be.u8(R), ix = be.i32(B);
      images.set(img); labels.set(lab); ix.set(idx);
      const x = be.f32(B * D), y = be.i32(B);
      be.gatherBatch(x, y, images, labels, ix, B, D, 1 / 255, -0.5);
      return [x, new Float32Array(y.buffer, y.byteOffset, B)];
    });
    for (const r of res.slice(1)) for (let i = 0; i < 2; i++) expect(bytesEqual(r[i], res[0][i])).toBe(true);
    expect(new Int32Array(res[0][1].buffer, res[0][1].byteOffset, B)[7]).toBe(lab[idx[7]]);
  });

  it('gather_batch_channels', () => {
    const R = 600, D = 3 * 1024, B = 203; // CIFAR-sized rows, B*D above the split threshold
    const rng = new Rng(14);
    const img = new Uint8Array(R * D).map(() => rng.int(256));
    const idx = Int32Array.from({ length: B }, () => rng.int(R));
    const res = [one, two, three].map((be) => {
      const images = be.u8(R * D), labels = be.u8(R), ix = be.i32(B), norm = be.f32(6);
      images.set(img); ix.set(idx); norm.set([0.02, -0.5, 0.018, -0.4, 0.019, -0.45]);
      const x = be.f32(B * D), y = be.i32(B);
      be.gatherBatchChannels(x, y, images, labels, ix, B, D, norm);
      return x;
    });
    for (const r of res.slice(1)) expect(bytesEqual(r, res[0])).toBe(true);
  });
});

/** conv2d backward twice on fixed data (above the split threshold); returns [dweight, dbias, dinp]. */
function convBackward(be: Backend, stride: number, pad: number, C: number, withDinp: boolean, withBias: boolean): Float32Array[] {
  const B = 29, H = 20, W = 20, OC = 22, KH = 5, KW = 5;
  const OH = Math.floor((H + 2 * pad - KH) / stride) + 1, OW = Math.floor((W + 2 * pad - KW) / stride) + 1;
  const s: Conv2dShape = { B, C, H, W, OC, KH, KW, stride, pad, OH, OW };
  const x = fill(be, randomF32(B * C * H * W, 40)), w = fill(be, randomF32(OC * C * KH * KW, 41));
  const dw = fill(be, randomF32(OC * C * KH * KW, 42)), db = fill(be, randomF32(OC, 43));
  const dinp = withDinp ? be.f32(B * C * H * W).fill(NaN) : null; // overwritten, never read
  for (let rep = 0; rep < 2; rep++) {
    const dout = fill(be, randomF32(B * OC * OH * OW, 44 + rep));
    be.conv2dBackward(dinp, dw, withBias ? db : null, dout, x, w, s);
  }
  return [dw.slice(), db.slice(), dinp ? dinp.slice() : new Float32Array(0)];
}

/** A 784-512-256-10 ReLU MLP trained for a few steps from Backend calls; returns all parameters. */
function trainSteps(be: Backend, steps: number, optimizer: 'sgd' | 'adam'): Float32Array {
  const B = 128, sizes = [784, 512, 256, 10];
  const L = sizes.length - 1;
  let total = 0;
  for (let l = 0; l < L; l++) total += sizes[l + 1] * sizes[l] + sizes[l + 1];
  const params = be.f32(total), grads = be.f32(total), m = be.f32(total), v = be.f32(total);
  const W: Float32Array[] = [], b: Float32Array[] = [], dW: Float32Array[] = [], db: Float32Array[] = [];
  const init = new Rng(42);
  let off = 0;
  for (let l = 0; l < L; l++) {
    const I = sizes[l], O = sizes[l + 1];
    W.push(params.subarray(off, off + O * I)); dW.push(grads.subarray(off, off + O * I)); off += O * I;
    b.push(params.subarray(off, off + O)); db.push(grads.subarray(off, off + O)); off += O;
    const s = Math.sqrt(2 / I);
    for (let i = 0; i < O * I; i++) W[l][i] = init.normal() * s;
  }
  const acts = sizes.map((n) => be.f32(B * n));
  const dacts = sizes.map((n) => be.f32(B * n));
  const labels = be.i32(B);
  const data = new Rng(7);
  const h: OptimizerStep = { kind: optimizer, lr: optimizer === 'sgd' ? 0.1 : 1e-3, momentum: 0, beta1: 0.9,
    beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 0 };
  for (let step = 1; step <= steps; step++) {
    for (let i = 0; i < B * 784; i++) acts[0][i] = data.float();
    for (let i = 0; i < B; i++) labels[i] = data.int(10);
    for (let l = 0; l < L; l++) {
      const I = sizes[l], O = sizes[l + 1];
      be.gemm(acts[l + 1], acts[l], W[l], b[l], B, O, I, false, true, false);
      if (l < L - 1) be.activationForward('relu', acts[l + 1], acts[l + 1], B * O, 0);
    }
    be.softmaxCrossEntropy(dacts[L], acts[L], labels, B, 10);
    grads.fill(0);
    for (let l = L - 1; l >= 0; l--) {
      const I = sizes[l], O = sizes[l + 1];
      if (l < L - 1) be.activationBackward('relu', dacts[l + 1], dacts[l + 1], acts[l + 1], B * O, 0);
      be.gemm(dW[l], dacts[l + 1], acts[l], null, O, I, B, true, false, true);
      be.biasBackward(db[l], dacts[l + 1], B, O);
      if (l > 0) be.gemm(dacts[l], dacts[l + 1], W[l], null, B, I, O, false, false, false);
    }
    h.step = step;
    be.optimizerStep(params, grads, m, v, total, h);
  }
  return params.slice();
}

describe('training steps', () => {
  for (const opt of ['sgd', 'adam'] as const) {
    it(`parameters after 3 ${opt} steps are bit-identical for 1, 2 and 3 threads`, () => {
      const p1 = trainSteps(new WasmBackend('simd'), 3, opt);
      const p2 = trainSteps(threaded(2), 3, opt);
      const p3 = trainSteps(threaded(3), 3, opt);
      expect(bytesEqual(p2, p1)).toBe(true);
      expect(bytesEqual(p3, p1)).toBe(true);
      expect(p1.every(Number.isFinite)).toBe(true);
    });
  }
});

describe('CNN training steps', () => {
  /** The W3 net (conv, relu, max pool, twice, then dense) after `steps` Adam steps; returns all parameters. */
  function trainCnn(be: Backend, steps: number): Float32Array {
    const B = 64;
    const spec = parseArch('conv8k5-relu-pool2-conv16k5-relu-pool2-dense10',
      { activation: 'relu', alpha: 0.01, dropout: 0 }, { height: 28, width: 28, classes: 10 });
    const model = new Model(be, spec, B);
    const rng = new Rng(5);
    model.init(rng, 'he');
    const x = be.f32(B * 784), y = be.i32(B), dl = be.f32(B * 10);
    const m = be.f32(model.params.length), v = be.f32(model.params.length);
    const data = new Rng(6);
    for (let step = 1; step <= steps; step++) {
      for (let i = 0; i < x.length; i++) x[i] = data.float();
      for (let i = 0; i < B; i++) y[i] = data.int(10);
      let h = x;
      for (const l of model.layers) h = l.forward(h, B, { training: true, rng });
      be.softmaxCrossEntropy(dl, h, y, B, 10);
      model.zeroGrad();
      let d: Float32Array | null = dl;
      for (let i = model.layers.length - 1; i >= 0 && d; i--) d = model.layers[i].backward(d, B);
      be.optimizerStep(model.params, model.grads, m, v, model.params.length,
        { kind: 'adam', lr: 1e-3, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step });
    }
    return model.params.slice();
  }

  it('W3 parameters after 3 Adam steps are bit-identical for 1, 2 and 3 threads', () => {
    const p1 = trainCnn(new WasmBackend('simd'), 3);
    const p2 = trainCnn(threaded(2), 3);
    const p3 = trainCnn(threaded(3), 3);
    expect(bytesEqual(p2, p1)).toBe(true);
    expect(bytesEqual(p3, p1)).toBe(true);
    expect(p1.every(Number.isFinite)).toBe(true);
  });
});

describe('other builds', () => {
  // relaxed: the FMA build (what --relaxed picks); scalar: the naive twins (gemm_strided_scalar).
  for (const variant of ['relaxed', 'scalar'] as WasmVariant[]) {
    it(`${variant}: gemm and Adam steps are bit-identical for 1 and 2 threads`, () => {
      if (variant === 'relaxed') enableRelaxedSimd();
      expect(variant !== 'relaxed' || relaxedSupported()).toBe(true);
      const M = 96, N = 200, K = 150;
      const a = randomF32(M * K, 21), b = randomF32(N * K, 22), bias = randomF32(N, 23);
      const n = 1 << 15;
      const w = randomF32(n, 24), g = randomF32(n, 25);
      const h: OptimizerStep = { kind: 'adam', lr: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8,
        weightDecay: 0, step: 1 };
      const two = new ThreadedWasmBackend(variant, 2);
      open.push(two);
      const res = [new WasmBackend(variant), two].map((be) => {
        const c = be.f32(M * N);
        be.gemm(c, fill(be, a), fill(be, b), fill(be, bias), M, N, K, false, true, false);
        const p = fill(be, w);
        be.optimizerStep(p, fill(be, g), be.f32(n), be.f32(n), n, h);
        return [c, p];
      });
      expect(bytesEqual(res[1][0], res[0][0])).toBe(true);
      expect(bytesEqual(res[1][1], res[0][1])).toBe(true);
    });

    it(`${variant}: conv2d backward is bit-identical for 1 and 2 threads`, () => {
      if (variant === 'relaxed') enableRelaxedSimd();
      const two = new ThreadedWasmBackend(variant, 2);
      open.push(two);
      for (const [stride, pad] of [[1, 2], [2, 1]]) {
        const res = [new WasmBackend(variant), two].map((be) => convBackward(be, stride, pad, true, true));
        for (let i = 0; i < 3; i++) expect(bytesEqual(res[1][i], res[0][i])).toBe(true);
      }
    });
  }
});

describe('failures and lifetime', () => {
  it('a trap in a worker is an Error in the main thread naming the kernel, within a second', () => {
    const be = threaded(2);
    // Two chunks: chunk 0 is 4M valid elements of tanh (about 12 ms, long enough for the worker
    // to wake and take chunk 1 even on a busy machine; relu's 0.7 ms was not), chunk 1 points
    // past the end of memory, so whoever runs it traps.
    const n = 1 << 22;
    const out = be.f32(n), inp = be.f32(n);
    const jump = Math.ceil((be.memory.buffer.byteLength + (1 << 20)) / n);
    let inWorker = false;
    for (let attempt = 0; attempt < 20 && !inWorker; attempt++) {
      const t0 = Date.now();
      let msg = '';
      try {
        be.pool.run({ kernel: 'activation_forward', base: [4, be.ptr(out), be.ptr(inp), 2 * n, 0],
          coef: [0, jump, jump, 0, 0], countArg: 3, scratchArg: -1, wrapArg: -1, total: 2 * n, chunkLen: n });
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(msg).toMatch(/^kernel activation_forward failed in (worker thread 1|the main thread): RuntimeError/);
      inWorker = msg.includes('worker thread 1');
    }
    expect(inWorker).toBe(true);
    // The pool still works after a kernel failure.
    inp.set(randomF32(n, 15));
    be.activationForward('relu', out, inp, n, 0);
    expect(out[7]).toBe(Math.max(0, inp[7]));
  });

  it('the calling thread always runs chunk 0 itself (a spinning worker never takes it)', () => {
    const be = threaded(2);
    // Two chunks: chunk 0 points past the end of memory and traps, chunk 1 is 4M valid elements of
    // tanh (about 12 ms). Calls back to back keep the worker spinning, and notify() is slowed down
    // here, so a worker that could take chunk 0 would have 2 ms to do it before this thread: the
    // trap must still be this thread's every time.
    const n = 1 << 22;
    const out = be.f32(n), inp = be.f32(n);
    inp.set(randomF32(n, 16));
    const J = Math.ceil((be.memory.buffer.byteLength + (1 << 20)) / n);
    const notify = Atomics.notify;
    Atomics.notify = ((...args: Parameters<typeof notify>) => {
      const t = performance.now();
      while (performance.now() - t < 2) { /* a slow notify */ }
      return notify(...args);
    }) as typeof notify;
    try {
      for (let attempt = 0; attempt < 8; attempt++) {
        out[7] = 0;
        let msg = '';
        try {
          be.pool.run({ kernel: 'activation_forward', base: [4, be.ptr(out) + n * J, be.ptr(inp) + n * J, 2 * n, 0],
            coef: [0, -J, -J, 0, 0], countArg: 3, scratchArg: -1, wrapArg: -1, total: 2 * n, chunkLen: n });
        } catch (e) {
          msg = (e as Error).message;
        }
        expect(msg).toMatch(/^kernel activation_forward failed in the main thread: RuntimeError/);
        expect(out[7]).toBeCloseTo(Math.tanh(inp[7]), 5); // and chunk 1 ran
      }
    } finally {
      Atomics.notify = notify;
    }
  });

  it('an out-of-bounds gemm split over threads throws instead of hanging', () => {
    const be = threaded(2);
    const fake = new Float32Array(be.memory.buffer, be.memory.buffer.byteLength - 4096, 1024);
    const t0 = Date.now();
    // As with one thread: a KernelTrapError naming the kernel, whichever thread trapped.
    expect(() => be.gemm(fake, fake, fake, null, 512, 512, 512, false, false, false))
      .toThrow(KernelTrapError);
    expect(() => be.gemm(fake, fake, fake, null, 512, 512, 512, false, false, false))
      .toThrow(/kernel gemm trapped .*gemm_strided failed in (worker thread 1|the main thread).*M=512/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('the constructor returns once every worker has started (benchmarks time all threads from the first call)', () => {
    const be = threaded(3);
    const I = (be.pool as unknown as { I: Int32Array }).I;
    expect(Atomics.load(I, LAYOUT.READY)).toBe(2);
  });

  it('memory grown after the pool started is visible to the workers', () => {
    const be = threaded(2);
    be.f32(64 << 20); // grows the memory well past its first size
    const n = 1 << 20;
    const x = be.f32(n), out = be.f32(n);
    x.set(randomF32(n, 14));
    be.activationForward('relu', out, x, n, 0);
    expect(out.every((y, i) => y === Math.max(0, x[i]) || (y === 0 && x[i] <= 0))).toBe(true);
  });

  it('createBackend({threads}) returns the threaded backend and rejects bad counts', () => {
    const be = createBackend('wasm-simd', { threads: 2 });
    expect(be).toBeInstanceOf(ThreadedWasmBackend);
    (be as ThreadedWasmBackend).dispose();
    expect(createBackend('wasm-simd', { threads: 1 })).not.toBeInstanceOf(ThreadedWasmBackend);
    expect(() => createBackend('wasm-simd', { threads: 0 })).toThrow(/threads/);
  });

  it('a process that never calls dispose() still exits (workers are unref()ed)', () => {
    const entry = join(projectRoot(), 'dist', 'src', 'engine', 'index.js');
    expect(existsSync(entry), 'dist/ is missing: run `npm run build`').toBe(true);
    const code = `import(${JSON.stringify(entry)}).then((m) => {
      const be = m.createBackend('wasm-simd', { threads: 2 });
      const n = 1 << 20, x = be.f32(n), y = be.f32(n);
      be.activationForward('relu', y, x, n, 0);
      console.log('ok');
    });`;
    const t0 = Date.now();
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', timeout: 20_000 });
    expect(r.stdout.trim()).toBe('ok');
    expect(r.status).toBe(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});
