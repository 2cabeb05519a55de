// GELU end to end (docs/adding-an-op.md's worked example): known values of the tanh form on every
// backend, and a short MNIST run with --activation gelu that learns, the same bits on 1 and 2 threads.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadData, type Dataset } from '../src/data/index.js';
import { createBackend } from '../src/engine/index.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { check, expectSameBits, putF32, ref, wasmBackends } from './kernel_backends.js';

/** 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) in f64, written here apart from the engine. */
const gelu64 = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

describe('gelu kernels', () => {
  const X = [-20, -6, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 6, 20];
  for (const be of [ref, ...wasmBackends()]) {
    it(`${be.name}: the tanh form's values, -inf -> 0 and +inf -> +inf`, () => {
      const x = putF32(be, [...X, -Infinity, Infinity]), y = be.f32(x.length);
      be.activationForward('gelu', y, x, x.length, 0);
      check(`${be.name} gelu`, y.subarray(0, X.length), X.map((v) => gelu64(Math.fround(v))), 1e-7, 2e-6);
      expect(Array.from(y.subarray(X.length)).map((v) => v === 0 ? 0 : v)).toEqual([0, Infinity]);
      expect(gelu64(1)).toBeCloseTo(0.8411920, 6); // the formula itself, against a published value
    });
  }
});

describe('--activation gelu trains', () => {
  let data: { train: Dataset; test: Dataset | null };
  beforeAll(() => { data = loadData({}); });
  const cfg: TrainConfig = { ...DEFAULTS, arch: '784-64-32-10', activation: 'gelu', epochs: 2, limitTrain: 3000, limitTest: 500 };

  it('784-64-32-10 learns MNIST, and 2 threads give 1 thread\'s bits', async () => {
    const params: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const be = createBackend('wasm', { threads, initialBytes: 64 << 20 });
      const t = new Trainer(be, cfg, data);
      expect(await t.run()).toEqual({ status: 'done' });
      expect(t.model.layers.map((l) => l.spec.fn).filter(Boolean)).toEqual(['gelu', 'gelu']);
      expect(t.state.history[1].test_acc).toBeGreaterThan(0.75); // relu: 0.80 on this run; chance: 0.1
      params.push(t.model.params.slice());
      (be as { dispose?: () => void }).dispose?.();
    }
    expectSameBits(params[1], params[0]);
  });
});
