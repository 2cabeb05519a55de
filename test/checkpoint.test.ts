// Checkpoints: a run stopped (at an epoch boundary or mid-epoch) and resumed from its checkpoint
// ends bit-identical to an uninterrupted run; parameters round-trip through .safetensors and the
// seed's .npz layout; files of another format, version or architecture are refused clearly.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, resumeData, saveCheckpoint } from '../src/io/checkpoint.js';
import { exportNpz, loadModelFile } from '../src/io/model-file.js';
import { loadData, type Dataset } from '../src/data/index.js';
import { createBackend } from '../src/engine/index.js';
import { readNpz, writeNpz } from '../src/io/npz.js';
import { readSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { DEFAULTS, type TrainConfig } from '../src/train/config.js';
import { Trainer } from '../src/train/trainer.js';
import { UserError } from '../src/errors.js';
import { randomF32 } from './helpers.js';

let data: { train: Dataset; test: Dataset | null };
const dir = mkdtempSync(join(tmpdir(), 'wasmnist-ck-'));
beforeAll(() => { data = loadData({}); });

const wasm = () => createBackend('wasm', { initialBytes: 96 << 20 });
const names = Array.from({ length: 10 }, (_, i) => String(i));
// Adam, cosine with warmup, dropout and a validation split: every piece of state a resume needs.
const base: TrainConfig = {
  ...DEFAULTS, arch: '784-32-16-10', dropout: 0.25, epochs: 4, batch: 100, warmup: '30steps',
  limitTrain: 2000, limitTest: 300, val: 200,
};

async function stoppedThenResumed(c: TrainConfig, stopAfterSteps: number, path: string): Promise<Trainer> {
  const first = new Trainer(wasm(), c, data);
  let steps = 0;
  const end = await first.run({ onStep: () => { steps++; }, shouldStop: () => steps >= stopAfterSteps });
  expect(end.status).toBe('stopped');
  saveCheckpoint(path, first, names);
  const ck = readCheckpoint(path);
  const second = new Trainer(wasm(), ck.config, data, resumeData(ck), ck.spec);
  expect(await second.run()).toEqual({ status: 'done' });
  return second;
}

describe('resume', () => {
  for (const optimizer of ['adam', 'nesterov'] as const) {
    it(`N epochs equal N/2 + resume + N/2, bit for bit (${optimizer})`, async () => {
      const c = { ...base, optimizer, lr: optimizer === 'adam' ? 0.002 : 0.05 };
      const whole = new Trainer(wasm(), c, data);
      await whole.run();
      const resumed = await stoppedThenResumed(c, 2 * whole.stepsPerEpoch, join(dir, `half-${optimizer}.safetensors`));
      expect(resumed.model.params).toEqual(whole.model.params);
      expect(resumed.m).toEqual(whole.m);
      expect(resumed.state.history.map((h) => h.test_acc)).toEqual(whole.state.history.map((h) => h.test_acc));
    });
  }

  it('a run stopped mid-epoch (Ctrl-C) resumes to the same parameters', async () => {
    const whole = new Trainer(wasm(), base, data);
    await whole.run();
    const resumed = await stoppedThenResumed(base, whole.stepsPerEpoch + 7, join(dir, 'mid.safetensors'));
    expect(resumed.model.params).toEqual(whole.model.params);
    expect(resumed.state.history.map((h) => h.train_loss)).toEqual(whole.state.history.map((h) => h.train_loss));
  });
});

describe('model files', () => {
  it('a checkpoint holds the documented fields and loads for inference', async () => {
    const t = new Trainer(wasm(), { ...base, epochs: 1 }, data);
    await t.run();
    const path = join(dir, 'ck.safetensors');
    saveCheckpoint(path, t, names);
    const { tensors, metadata } = readSafetensors(path);
    expect(metadata.format).toBe('wasmnist-checkpoint');
    expect(metadata.format_version).toBe('1');
    expect(JSON.parse(metadata.state).rng).toEqual(t.rng.getState());
    expect(JSON.parse(metadata.normalization)).toEqual({ scale: 1 / 255, shift: 0 });
    expect(Object.keys(tensors).sort()).toEqual(['W1', 'W2', 'W3', 'b1', 'b2', 'b3',
      'm.W1', 'm.W2', 'm.W3', 'm.b1', 'm.b2', 'm.b3', 'v.W1', 'v.W2', 'v.W3', 'v.b1', 'v.b2', 'v.b3']);
    expect(tensors.W1.shape).toEqual([32, 784]);

    const loaded = loadModelFile(path, createBackend('ts'));
    expect(loaded.inputShape).toEqual([1, 28, 28]);
    expect(loaded.classNames).toEqual(names);
    const x = randomF32(3 * 784, 9, 0, 1);
    expect(Array.from(loaded.model.predict(x, 3))).toEqual(Array.from(loadModelFile(path, createBackend('ts')).model.predict(x, 3)));
    const got = loaded.model.predict(x, 3);
    const ref = t.model.predict(x, 3);
    for (let i = 0; i < 30; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(1e-5);
  });

  it('weights.npz is the seed layout and evaluates like the checkpoint', async () => {
    const t = new Trainer(wasm(), { ...base, dropout: 0, epochs: 1 }, data);
    await t.run();
    const path = join(dir, 'weights.npz');
    exportNpz(path, t.model);
    const npz = readNpz(path);
    expect(Object.fromEntries(Object.entries(npz).map(([k, v]) => [k, v.shape]))).toEqual({
      W1: [32, 784], b1: [32, 1], W2: [16, 32], b2: [16, 1], W3: [10, 16], b3: [10, 1] });
    const loaded = loadModelFile(path, createBackend('ts'));
    expect(loaded.model.spec.arch).toBe('784-32-16-10');
    const x = randomF32(2 * 784, 10, 0, 1);
    const a = loaded.model.predict(x, 2);
    const b = t.model.predict(x, 2);
    for (let i = 0; i < 20; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-5);
  });

  it('reads a float64 seed .npz with (O,1) biases (what np.savez wrote)', () => {
    const path = join(dir, 'seed.npz');
    const f64 = (n: number, s: number) => Float64Array.from(randomF32(n, s, -0.5, 0.5));
    writeNpz(path, {
      W1: { dtype: '<f8', shape: [10, 784], data: f64(7840, 1) }, b1: { dtype: '<f8', shape: [10, 1], data: f64(10, 2) },
      W2: { dtype: '<f8', shape: [10, 10], data: f64(100, 3) }, b2: { dtype: '<f8', shape: [10, 1], data: f64(10, 4) },
    });
    const m = loadModelFile(path, createBackend('ts'));
    expect(m.model.spec.arch).toBe('784-10-10');
    expect(m.normalization.scale).toBeCloseTo(1 / 255);
    expect(m.model.param('b2')!.value[3]).toBeCloseTo(f64(10, 4)[3], 6);
  });

  it('refuses another format, a newer version, another architecture and a broken npz', async () => {
    const t = new Trainer(wasm(), { ...base, epochs: 1, limitTrain: 300 }, data);
    await t.run();
    const path = join(dir, 'ok.safetensors');
    saveCheckpoint(path, t, names);
    const { tensors, metadata } = readSafetensors(path);
    const other = join(dir, 'other.safetensors');
    writeSafetensors(other, tensors, { ...metadata, format: 'pytorch' });
    expect(() => readCheckpoint(other)).toThrow(/not a wasmnist checkpoint/);
    writeSafetensors(other, tensors, { ...metadata, format_version: '99' });
    expect(() => readCheckpoint(other)).toThrow(/version 99/);
    // Resuming with a checkpoint whose tensors belong to another architecture.
    const ck = readCheckpoint(path);
    const wrongCfg = { ...ck.config, arch: '784-64-10' };
    expect(() => new Trainer(wasm(), wrongCfg, data, resumeData(ck))).toThrow(/another architecture|no tensor/);
    const junk = join(dir, 'junk.npz');
    writeFileSync(junk, readFileSync(path).subarray(0, 50));
    expect(() => loadModelFile(junk, createBackend('ts'))).toThrow(UserError);
    const badNpz = join(dir, 'bad.npz');
    writeNpz(badNpz, { W1: { dtype: '<f4', shape: [10, 784], data: new Float32Array(7840) } });
    expect(() => loadModelFile(badNpz, createBackend('ts'))).toThrow(/no b1/);
  });
});
