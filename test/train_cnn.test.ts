// CNNs end to end: the --arch tokens for convolution and pooling, the layers' shapes and parameter
// names, a short MNIST run reaching an accuracy floor, and a checkpoint + .npz round trip.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadData, type Dataset } from '../src/data/index.js';
import { createBackend } from '../src/engine/index.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { DEFAULTS, PRESETS, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { saveCheckpoint } from '../src/io/checkpoint.js';
import { exportNpz, loadModelFile } from '../src/io/model-file.js';
import { readNpz } from '../src/io/npz.js';
import { UserError } from '../src/errors.js';

const opts = { activation: 'relu' as const, alpha: 0.01, dropout: 0 };
const mnist = { height: 28, width: 28, classes: 10 };

describe('--arch with convolutions', () => {
  it('parses conv, pool and activation tokens, taking the input shape from the data', () => {
    const s = parseArch('conv8k5-relu-pool2-conv16k3s2p1-avgpool2-dense10', opts, mnist);
    expect(s.input).toEqual([1, 28, 28]);
    expect(s.layers).toEqual([
      { type: 'conv2d', filters: 8, kernel: 5, stride: 1, pad: 0 },
      { type: 'activation', fn: 'relu', alpha: 0.01 },
      { type: 'pool', mode: 'max', size: 2, stride: 2 },
      { type: 'conv2d', filters: 16, kernel: 3, stride: 2, pad: 1 },
      { type: 'activation', fn: 'relu', alpha: 0.01 },   // inserted: no explicit activation follows
      { type: 'pool', mode: 'avg', size: 2, stride: 2 },
      { type: 'dense', units: 10 },
    ]);
    expect(s.arch).toBe('1x28x28-conv8k5-relu-pool2-conv16k3s2p1-avgpool2-dense10');
  });

  it('keeps an explicit input token and explicit activations (no doubled activation)', () => {
    const s = parseArch('1x28x28-conv4k3p1-tanh-maxpool3s2-32-10', { ...opts, activation: 'relu' }, mnist);
    expect(s.layers.map((l) => l.type + (l.fn ? `:${l.fn}` : ''))).toEqual(
      ['conv2d', 'activation:tanh', 'pool', 'dense', 'activation:relu', 'dense']);
  });

  it('builds the shapes and names W1 (8,1,5,5), b1 (8), ... W3 (10,256)', () => {
    const be = createBackend('ts');
    const m = new Model(be, parseArch('conv8k5-relu-pool2-conv16k5-relu-pool2-dense10', opts, mnist), 4);
    // Layers in the order they run: each relu after its max pool (Model's executionOrder).
    expect(m.layers.map((l) => l.outShape)).toEqual([
      [8, 24, 24], [8, 12, 12], [8, 12, 12], [16, 8, 8], [16, 4, 4], [16, 4, 4], [10, 1, 1]]);
    expect(m.entries.map((e) => `${e.name} (${e.shape})`)).toEqual(
      ['W1 (8,1,5,5)', 'b1 (8)', 'W2 (16,8,5,5)', 'b2 (16)', 'W3 (10,256)', 'b3 (10)']);
  });

  it('rejects a kernel or window that does not fit with a UserError saying what to do', () => {
    const be = createBackend('ts');
    expect(() => new Model(be, parseArch('conv8k5-pool2-conv8k5-pool2-conv8k5-10', opts, mnist), 1)).toThrow(UserError);
    expect(() => new Model(be, parseArch('conv8k5-pool2-conv8k5-pool2-conv8k5-10', opts, mnist), 1))
      .toThrow(/does not fit the 4x4 input/);
    expect(() => parseArch('conv8k5-conv8-10', opts, mnist)).toThrow(/convNkK/);
  });
});

describe('training a CNN on MNIST', () => {
  let data: { train: Dataset; test: Dataset | null };
  beforeAll(() => { data = loadData({}); });
  const cfg = (over: Partial<TrainConfig>): TrainConfig => ({ ...DEFAULTS, ...over });

  it('the cnn preset is a valid config', () => {
    expect(PRESETS.cnn.config.arch).toMatch(/^conv/);
  });

  it('one epoch of a small CNN on 30k images reaches >= 95% test accuracy; checkpoint and .npz round trip', async () => {
    const be = createBackend('wasm', { initialBytes: 96 << 20 });
    const c = cfg({ arch: 'conv8k5-relu-pool2-conv16k5-relu-pool2-dense10', optimizer: 'adam', lr: 0.002,
      batch: 32, epochs: 1, limitTrain: 30000, schedule: 'cosine' });
    const t = new Trainer(be, c, data);
    expect(await t.run()).toEqual({ status: 'done' });
    const h = t.state.history[0];
    console.log(`1 epoch (30k images) conv8k5-relu-pool2-conv16k5-relu-pool2-dense10: test ${(100 * h.test_acc!).toFixed(2)}% ` +
      `in ${h.seconds.toFixed(1)} s`);
    expect(h.test_acc).toBeGreaterThanOrEqual(0.95);

    const dir = mkdtempSync(join(tmpdir(), 'wasmnist-cnn-'));
    const ck = join(dir, 'checkpoint.safetensors');
    saveCheckpoint(ck, t, Array.from({ length: 10 }, (_, i) => String(i)));
    const loaded = loadModelFile(ck, createBackend('ts'));
    expect(loaded.model.spec.layers).toEqual(t.model.spec.layers);
    expect(loaded.model.params.subarray(0, t.model.paramCount)).toEqual(t.model.params.subarray(0, t.model.paramCount));
    // the reloaded model (on the ts reference) predicts like the trained one
    const x = new Float32Array(16 * 784);
    for (let i = 0; i < x.length; i++) x[i] = data.test!.images[i] / 255;
    const p1 = t.model.predict(x, 16), p2 = loaded.model.predict(x, 16);
    for (let i = 0; i < p1.length; i++) expect(Math.abs(p1[i] - p2[i])).toBeLessThan(1e-4);

    const npz = join(dir, 'weights.npz');
    exportNpz(npz, t.model);
    const arrays = readNpz(npz);
    expect(arrays.W1.shape).toEqual([8, 1, 5, 5]);
    expect(arrays.W2.shape).toEqual([16, 8, 5, 5]);
    expect(arrays.W3.shape).toEqual([10, 256]);
    expect(Array.from(arrays.W2.data as Float32Array)).toEqual(Array.from(t.model.param('W2')!.value));
  }, 120_000);
});
