// Batch normalization: the kernels against a float64 formula and central differences on every
// backend (conv layout and dense layout, odd sizes, unaligned pointers), evaluation with running
// statistics, the same bits for any thread split, the --arch token, and a short MNIST run with
// BatchNorm and augmentation: it learns, 2 threads give 1 thread's bits, and a resumed run ends
// bit-identical.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BatchNormShape } from '../src/engine/backend.js';
import { createBackend } from '../src/engine/index.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { loadData, type Dataset } from '../src/data/index.js';
import { parseArch, sequential, batchNorm, conv2d, dense, relu } from '../src/model/spec.js';
import { Model } from '../src/model/model.js';
import { readCheckpoint, resumeData, saveCheckpoint } from '../src/io/checkpoint.js';
import { DEFAULTS, PRESETS, validateConfig, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { randomF32 } from './helpers.js';
import { check, expectSameBits, putF32, ref, wasmBackends } from './kernel_backends.js';

const EPS = 1e-5;

/** y of the training forward in f64, written here apart from the engine. */
function forward64(x: Float64Array, g: Float64Array, be: Float64Array, s: BatchNormShape) {
  const { B, C, HW } = s;
  const y = new Float64Array(x.length), mean = new Float64Array(C), vr = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let b = 0; b < B; b++) for (let i = 0; i < HW; i++) vals.push(x[(b * C + c) * HW + i]);
    mean[c] = vals.reduce((a, v) => a + v, 0) / vals.length;
    vr[c] = vals.reduce((a, v) => a + (v - mean[c]) ** 2, 0) / vals.length;
    for (let b = 0; b < B; b++) for (let i = 0; i < HW; i++) {
      const k = (b * C + c) * HW + i;
      y[k] = g[c] * (x[k] - mean[c]) / Math.sqrt(vr[c] + EPS) + be[c];
    }
  }
  return { y, mean, vr };
}

/** A loss that is not linear in y, so the backward's every term matters: sum(r y^2 / 2 + t y). */
function loss64(x: Float64Array, g: Float64Array, be: Float64Array, s: BatchNormShape, r: Float64Array, t: Float64Array): number {
  const { y } = forward64(x, g, be, s);
  let l = 0;
  for (let i = 0; i < y.length; i++) l += r[i] * y[i] * y[i] / 2 + t[i] * y[i];
  return l;
}

function numeric(f: () => number, v: Float64Array, h = 1e-5): Float64Array {
  const out = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const o = v[i];
    v[i] = o + h; const up = f();
    v[i] = o - h; const down = f();
    v[i] = o;
    out[i] = (up - down) / (2 * h);
  }
  return out;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1e-3, Math.abs(a[i]) + Math.abs(b[i])));
  return worst;
}

const f64 = (n: number, seed: number, a: number, off = 0) => Float64Array.from(randomF32(n, seed, -a, a), (v) => v + off);

const shapes: { label: string; s: BatchNormShape }[] = [
  { label: 'conv layout B3 C4 HW7', s: { B: 3, C: 4, HW: 7 } },
  { label: 'conv layout B2 C3 HW13 (lanes and a tail)', s: { B: 2, C: 3, HW: 13 } },
  { label: 'dense layout B6 C5 HW1', s: { B: 6, C: 5, HW: 1 } },
];

for (const { label, s } of shapes) {
  describe(`batchnorm gradients, ${label}`, () => {
    const n = s.B * s.C * s.HW;
    const x = f64(n, 3, 2, 0.5), g = f64(s.C, 4, 0.5, 1), b = f64(s.C, 5, 0.3), r = f64(n, 6, 1), t = f64(n, 7, 1);
    const f = () => loss64(x, g, b, s, r, t);
    const want = { dx: numeric(f, x), dg: numeric(f, g), db: numeric(f, b) };
    const { y: y64, mean, vr } = forward64(x, g, b, s);
    for (const be of [ref, ...wasmBackends()]) {
      it(`${be.name}: forward, running statistics and gradients match f64 and central differences`, () => {
        const mark = be.mark();
        const X = putF32(be, x, 1), G = putF32(be, g, 1), Bt = putF32(be, b), inv = be.f32(s.C);
        const rm = putF32(be, new Float32Array(s.C).fill(0.5)), rv = putF32(be, new Float32Array(s.C).fill(2), 1);
        const Y = be.f32(n + 1).subarray(1), mean_ = be.f32(s.C);
        be.batchNormForward(Y, mean_, X, G, Bt, inv, rm, rv, s, { training: true, momentum: 0.25, eps: EPS });
        check(`${be.name} bn forward`, Y, y64, 2e-6, 2e-5);
        const m = s.B * s.HW;
        check(`${be.name} bn running mean`, rm, Array.from(mean, (v) => 0.5 + 0.25 * (v - 0.5)), 1e-6, 1e-5);
        check(`${be.name} bn running var`, rv, Array.from(vr, (v) => 2 + 0.25 * (v * m / (m - 1) - 2)), 1e-6, 1e-5);
        // dout of the test loss, then the backward in place over dout
        const dout = putF32(be, Array.from(y64, (v, i) => r[i] * Y[i] + t[i]), 1);
        const dg = be.f32(s.C), db = be.f32(s.C);
        be.batchNormBackward(dout, dg, db, dout, X, G, mean_, inv, s);
        const errs = { dx: relErr(dout, want.dx), dg: relErr(dg, want.dg), db: relErr(db, want.db) };
        expect(errs.dx).toBeLessThan(2e-3);
        expect(errs.dg).toBeLessThan(2e-3);
        expect(errs.db).toBeLessThan(2e-3);
        expect(want.dx.some((v) => Math.abs(v) > 1e-2)).toBe(true);
        // evaluation: the running statistics, mean and invstd left alone
        const before = [mean_.slice(), inv.slice()];
        be.batchNormForward(Y, mean_, X, G, Bt, inv, rm, rv, s, { training: false, momentum: 0.25, eps: EPS });
        const want2 = Array.from(x, (v, i) => {
          const c = Math.floor(i / s.HW) % s.C;
          return g[c] * (Math.fround(v) - rm[c]) / Math.sqrt(rv[c] + EPS) + b[c];
        });
        check(`${be.name} bn eval`, Y, want2, 2e-6, 2e-5);
        expect([mean_, inv]).toEqual(before);
        be.release(mark);
      });
    }
  });
}

describe('batchnorm threads', () => {
  // HW 100: 16-float blocks and a 4-float block; 169: and a scalar tail; 1: a dense layer's features (each
  // shape over MIN_ELEMS.batchNorm, so that it splits)
  it.each([{ B: 64, C: 12, HW: 100 }, { B: 64, C: 7, HW: 169 }, { B: 512, C: 160, HW: 1 }])(
    '2 and 3 threads give 1 thread\'s bits (forward, running statistics, backward), B $B C $C HW $HW', (s: BatchNormShape) => {
    const n = s.B * s.C * s.HW;
    const x = randomF32(n, 9, -3, 3), d = randomF32(n, 10, -1, 1), g = randomF32(s.C, 11, 0.5, 1.5);
    const outs: Float32Array[][] = [];
    for (const threads of [1, 2, 3]) {
      const be = new WasmBackend('simd', 16 << 20, threads);
      const X = putF32(be, x), G = putF32(be, g), Bt = be.f32(s.C), inv = be.f32(s.C), rm = be.f32(s.C);
      const rv = putF32(be, new Float32Array(s.C).fill(1));
      const Y = be.f32(n), mean = be.f32(s.C), D = putF32(be, d), dg = be.f32(s.C), db = be.f32(s.C);
      be.batchNormForward(Y, mean, X, G, Bt, inv, rm, rv, s, { training: true, momentum: 0.1, eps: EPS });
      be.batchNormBackward(D, dg, db, D, X, G, mean, inv, s);
      outs.push([Y, rm, rv, D, dg, db].map((a) => a.slice()));
      be.dispose();
    }
    for (const o of outs.slice(1)) o.forEach((a, i) => expectSameBits(a, outs[0][i]));
  });
});

describe('bn in --arch and the layer factories', () => {
  const opts = { activation: 'relu' as const, alpha: 0.01, dropout: 0 };
  const mnist = { height: 28, width: 28, classes: 10 };
  it('puts the activation after the batch norm, names gamma/beta/mean/var, counts only trained values', () => {
    const s = parseArch('conv4k5-bn-pool2-32-bn-10', opts, mnist);
    expect(s.layers.map((l) => l.type + (l.fn ? `:${l.fn}` : ''))).toEqual(
      ['conv2d', 'batchnorm', 'activation:relu', 'pool', 'dense', 'batchnorm', 'activation:relu', 'dense']);
    expect(s).toEqual(sequential([1, 28, 28], [conv2d(4, 5), batchNorm(), relu(), { type: 'pool', mode: 'max', size: 2, stride: 2 },
      dense(32), batchNorm(), relu(), dense(10)], s.arch));
    const m = new Model(createBackend('ts'), s, 2);
    expect(m.entries.map((e) => `${e.name} (${e.shape})`)).toEqual(['W1 (4,1,5,5)', 'b1 (4)', 'gamma2 (4)', 'beta2 (4)',
      'mean2 (4)', 'var2 (4)', 'W3 (32,576)', 'b3 (32)', 'gamma4 (32)', 'beta4 (32)', 'mean4 (32)', 'var4 (32)', 'W5 (10,32)', 'b5 (10)']);
    // weights first (weight decay), then gamma/beta (trained), then the running statistics
    const at = (name: string) => m.param(name)!.offset;
    expect(at('gamma2')).toBeGreaterThanOrEqual(m.decayed);
    expect(at('mean4')).toBeGreaterThanOrEqual(m.trained);
    expect(at('b5')).toBeLessThan(m.decayed);
    expect(m.paramCount).toBe(100 + 4 + 8 + 32 * 576 + 32 + 64 + 330);
  });
});

describe('training with BatchNorm and augmentation', () => {
  let data: { train: Dataset; test: Dataset | null };
  beforeAll(() => { data = loadData({}); });
  const cfg: TrainConfig = {
    ...DEFAULTS, arch: 'conv6k5-bn-pool2-32-bn-10', epochs: 2, batch: 64, limitTrain: 1500, limitTest: 500,
    weightDecay: 1e-3, optimizer: 'adamw', lr: 0.01, augment: { translate: 1.5, rotate: 8, scale: 0.08, flip: false },
  };

  it('learns, 2 threads give 1 thread\'s bits, and a stopped + resumed run ends bit-identical', async () => {
    const runs: Trainer[] = [];
    for (const threads of [1, 2]) {
      const t = new Trainer(createBackend('wasm', { threads, initialBytes: 64 << 20 }), cfg, data);
      expect(await t.run()).toEqual({ status: 'done' });
      runs.push(t);
    }
    expect(runs[0].state.history[1].test_acc).toBeGreaterThan(0.85); // chance 0.1
    expectSameBits(runs[1].model.params, runs[0].model.params);
    // the running statistics moved, and evaluation uses them (not the batch's)
    expect(Array.from(runs[0].model.param('var2')!.value).some((v) => Math.abs(v - 1) > 1e-3)).toBe(true);

    const path = join(mkdtempSync(join(tmpdir(), 'wasmnist-bn-')), 'ck.safetensors');
    const first = new Trainer(createBackend('wasm', { threads: 2, initialBytes: 64 << 20 }), cfg, data);
    let steps = 0;
    await first.run({ onStep: () => { steps++; }, shouldStop: () => steps >= first.stepsPerEpoch + 5 });
    saveCheckpoint(path, first, Array.from({ length: 10 }, (_, i) => String(i)));
    const ck = readCheckpoint(path);
    expect(ck.params.mean2).toBeDefined();
    expect(ck.m.mean2).toBeUndefined();
    const second = new Trainer(createBackend('wasm', { threads: 1, initialBytes: 64 << 20 }), ck.config, data, resumeData(ck), ck.spec);
    expect(await second.run()).toEqual({ status: 'done' });
    expectSameBits(second.model.params, runs[0].model.params);
  });

  it('--target-acc stops after the first evaluated epoch that reaches it, and records when', async () => {
    const c: TrainConfig = { ...DEFAULTS, arch: '784-32-10', epochs: 4, limitTrain: 1500, limitTest: 500, targetAcc: 0.8,
      schedule: 'onecycle', lr: 0.01 };
    const t = new Trainer(createBackend('wasm', { initialBytes: 64 << 20 }), c, data);
    expect(await t.run()).toEqual({ status: 'done' });
    const r = t.state.reached!;
    expect(r.acc).toBeGreaterThanOrEqual(0.8);
    expect(t.state.epoch).toBe(r.epoch);
    expect(r.epoch).toBeLessThan(4);
    expect(t.state.history.slice(0, -1).every((m) => m.test_acc! < 0.8)).toBe(true);
    expect(r.trainSeconds).toBeGreaterThan(0);
    expect(r.trainSeconds).toBeLessThanOrEqual(r.seconds);
  });
});

describe('one-cycle schedule, label smoothing and --target-acc', () => {
  it('label smoothing turns the kernel\'s dlogits into (softmax - smoothed target) / N', async () => {
    const { smoothLabels } = await import('../src/train/trainer.js');
    const B = 3, C = 4, N = 6, e = 0.1;
    const logits = randomF32(B * C, 3, -2, 2), y = Int32Array.from([2, 0, 3]);
    const d = new Float32Array(B * C);
    ref.softmaxCrossEntropy(d, logits, y, B, C, N);
    smoothLabels(d, y, B, C, N, e);
    const want: number[] = [];
    for (let b = 0; b < B; b++) {
      const row = Array.from(logits.subarray(b * C, b * C + C));
      const z = row.reduce((a, v) => a + Math.exp(v), 0);
      row.forEach((v, j) => want.push((Math.exp(v) / z - ((j === y[b] ? 1 - e : 0) + e / C)) / N));
    }
    check('label smoothing dlogits', d, want, 1e-7, 1e-5);
  });

  it('onecycle: lr/25 at the start, lr at 30%, lr/25e4 at the last step, rising then falling', async () => {
    const { learningRate } = await import('../src/train/schedule.js');
    const f = (i: number) => learningRate('onecycle', 0.01, i, 235, 0);
    expect(f(0)).toBeCloseTo(0.0004, 12);
    expect(f(234)).toBeCloseTo(4e-8, 14);
    // torch.optim.lr_scheduler.OneCycleLR(max_lr=0.01, total_steps=235, cycle_momentum=False) gives these
    expect(f(10)).toBeCloseTo(0.0008820963351533206, 12);
    expect(f(150)).toBeCloseTo(0.005167094216738833, 12);
    const lrs = Array.from({ length: 235 }, (_, i) => f(i));
    const peak = lrs.indexOf(Math.max(...lrs));
    expect(peak).toBe(70); // torch's too: the phase ends at step 0.3 * 235 - 1 = 69.5
    for (let i = 1; i < 235; i++) expect(Math.sign(lrs[i] - lrs[i - 1])).toBe(i <= peak ? 1 : -1);
  });
});

describe('the fast and best presets', () => {
  for (const name of ['fast', 'best']) {
    it(`${name}: a valid config whose model builds, with batch norm and MNIST's normalization`, () => {
      const c = { ...DEFAULTS, ...PRESETS[name].config };
      validateConfig(c);
      const spec = parseArch(c.arch, { activation: c.activation, alpha: c.alpha, dropout: c.dropout },
        { height: 28, width: 28, classes: 10 });
      expect(spec.layers.some((l) => l.type === 'batchnorm')).toBe(true);
      expect(0 * c.scale + c.shift).toBeCloseTo(-0.1307 / 0.3081, 6);
      expect(255 * c.scale + c.shift).toBeCloseTo((1 - 0.1307) / 0.3081, 6);
    });
  }
});
