// End-to-end training on the bundled MNIST: an accuracy floor after one short epoch, the same
// seed giving the same parameters bit for bit, full batch accumulated over chunks equal to one
// big batch, and the ts and wasm backends agreeing on a short run.
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { loadData, type Dataset } from '../src/data/index.js';
import { createBackend } from '../src/engine/index.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { FULL_BATCH_CHUNK, Trainer } from '../src/train/trainer.js';
import { learningRate } from '../src/train/schedule.js';
import { expectClose } from './helpers.js';
import { expectSameBits } from './kernel_backends.js';

let data: { train: Dataset; test: Dataset | null };
beforeAll(() => { data = loadData({}); });

const cfg = (over: Partial<TrainConfig>): TrainConfig => ({ ...DEFAULTS, ...over });
const wasm = () => createBackend('wasm', { initialBytes: 96 << 20 });

describe('training on MNIST', () => {
  it('one epoch of 784-128-10 (momentum, cosine, batch 128) reaches >= 95% test accuracy on wasm', async () => {
    const t = new Trainer(wasm(), cfg({ arch: '784-128-10', optimizer: 'momentum', lr: 0.1, schedule: 'cosine', epochs: 1 }), data);
    expect(await t.run()).toEqual({ status: 'done' });
    const m = t.state.history[0];
    console.log(`1 epoch 784-128-10: test ${(100 * m.test_acc!).toFixed(2)}% in ${m.seconds.toFixed(2)} s`);
    expect(m.test_acc).toBeGreaterThanOrEqual(0.95);
    expect(m.train_loss).toBeLessThan(0.5);
  });

  it('the same seed gives bit-identical parameters; another seed does not', async () => {
    const c = cfg({ arch: '784-32-10', dropout: 0.2, epochs: 2, limitTrain: 3000, limitTest: 500, val: 500 });
    const run = async (seed: number) => {
      const t = new Trainer(wasm(), { ...c, seed }, data);
      await t.run();
      return t.model.params.slice();
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('full batch accumulated over chunks takes the same step as one big batch', async () => {
    const n = FULL_BATCH_CHUNK * 2 + 500; // three chunks, the last one short
    const c = cfg({ arch: '784-16-10', init: 'uniform', optimizer: 'sgd', lr: 0.1, schedule: 'constant', epochs: 2, limitTrain: n, limitTest: 100 });
    const full = new Trainer(wasm(), { ...c, batch: 'full' }, data);
    const big = new Trainer(createBackend('ts'), { ...c, batch: n }, data);
    await full.run();
    await big.run();
    expect(full.stepsPerEpoch).toBe(1);
    expectClose(full.model.params, big.model.params, 1e-5, 1e-4);
    expect(full.state.history[1].train_loss).toBeCloseTo(big.state.history[1].train_loss, 5);
  });

  it('full batch: the first layer keeps its chunks (gathered in the first epoch only); 1 and 2 threads bit for bit', async () => {
    const n = FULL_BATCH_CHUNK * 2 + 500; // three chunks, the last one short
    const c = cfg({ arch: '784-10-10', init: 'uniform', optimizer: 'sgd', lr: 0.1, schedule: 'constant', epochs: 3,
      batch: 'full', limitTrain: n, limitTest: 100, evalEvery: 3 });
    const params: Float32Array[] = [];
    for (const threads of [1, 2]) {
      const be = createBackend('wasm', { threads, initialBytes: 96 << 20 });
      const gather = vi.spyOn(be, 'gatherBatch'), fwd = vi.spyOn(be, 'sparseForward');
      const t = new Trainer(be, c, data);
      await t.run();
      // 3 chunks gathered once, plus the one evaluation of the 100 test rows (dense: not kept)
      expect(gather).toHaveBeenCalledTimes(3 + 1);
      expect(fwd).toHaveBeenCalledTimes(3 * 3);
      vi.restoreAllMocks();
      params.push(t.model.params.slice());
      (be as { dispose?: () => void }).dispose?.();
    }
    expectSameBits(params[1], params[0]);
    // and the same step as the dense kernels, up to rounding
    const dense = new Trainer(wasm(), { ...c, skipZeros: false }, data);
    await dense.run();
    expectClose(params[0], dense.model.params, 1e-5, 1e-4);
  });

  it('--backend ts and wasm agree on a short run (adam, dropout, cosine)', async () => {
    const c = cfg({ arch: '784-24-10', dropout: 0.1, epochs: 2, batch: 64, limitTrain: 640, limitTest: 200 });
    const tw = new Trainer(wasm(), c, data);
    const tt = new Trainer(createBackend('ts'), c, data);
    await tw.run();
    await tt.run();
    expectClose(tw.model.params, tt.model.params, 2e-4, 2e-3);
    expect(Math.abs(tw.state.history[1].test_acc! - tt.state.history[1].test_acc!)).toBeLessThanOrEqual(0.01);
  });
});

describe('learning-rate schedules', () => {
  it('warm up linearly, then follow constant, step and cosine', () => {
    expect(learningRate('constant', 1, 0, 100, 10)).toBeCloseTo(0.1);
    expect(learningRate('constant', 1, 9, 100, 10)).toBe(1);
    expect(learningRate('step', 1, 49, 100, 0)).toBe(1);
    expect(learningRate('step', 1, 50, 100, 0)).toBeCloseTo(0.1);
    expect(learningRate('step', 1, 80, 100, 0)).toBeCloseTo(0.01);
    expect(learningRate('cosine', 1, 10, 110, 10)).toBe(1);
    expect(learningRate('cosine', 1, 60, 110, 10)).toBeCloseTo(0.5);
    expect(learningRate('cosine', 1, 109, 110, 10)).toBeLessThan(0.01);
  });
});
