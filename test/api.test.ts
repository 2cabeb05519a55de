// The library API (src/index.ts) on small data made here: one builder for factories and --arch,
// typed callbacks, an AbortSignal that stops cleanly and resumes bit for bit through save/load,
// predict/evaluate, dispose, and typed errors.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  dense, dropout, fromArch, load, maxPool, conv2d, relu, sequential, tanh, train, UserError, type Dataset,
  type EpochMetrics,
} from '../src/index.js';
import { Model } from '../src/model/model.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { Rng } from '../src/util/rng.js';
import { bands } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-api-'));

const data = { train: bands(300, 1), test: bands(90, 2) };
const opts = { epochs: 3, batch: 32, lr: 0.01, threads: 1 };

describe('building', () => {
  it('an --arch string and the layer factories give the same spec (one builder)', () => {
    const a = fromArch('64-16-3', data.train, { activation: 'tanh', dropout: 0.1 });
    const b = sequential([8, 8], [dense(16), tanh(), dropout(0.1), dense(3)]);
    expect(b.spec.layers).toEqual(a.spec.layers);
    expect(b.spec.input).toEqual(a.spec.input);
    expect(b.spec.classes).toBe(3);
    const cnn = fromArch('conv4k3-relu-pool2-3', data.train);
    expect(cnn.spec.layers).toEqual(sequential([1, 8, 8], [conv2d(4, 3), relu(), maxPool(2), dense(3)]).spec.layers);
  });

  it('bad layers and shapes are UserErrors that say what to do', () => {
    expect(() => sequential([8, 8], [dense(16), relu()])).toThrow(UserError);
    expect(() => sequential([8, 8], [conv2d(4, 9), dense(3)])).toThrow(UserError);
    expect(() => sequential([0, 8], [dense(3)])).toThrow(/input shape/);
    expect(() => fromArch('64-16-5', data.train)).toThrow(/end --arch with 3/);
  });
});

describe('training', () => {
  it('calls onEpochEnd per epoch and onBatchEnd per step, and learns', async () => {
    const net = sequential([8, 8], [dense(16), relu(), dense(3)], { threads: 1 });
    const epochs: number[] = [];
    const logs: EpochMetrics[] = [];
    let batches = 0;
    const r = await train(net, data, { ...opts, onEpochEnd: (e, m) => { epochs.push(e); logs.push(m); }, onBatchEnd: () => { batches++; } });
    expect(r.status).toBe('done');
    expect(epochs).toEqual([1, 2, 3]);
    expect(batches).toBe(3 * Math.ceil(300 / 32));
    expect(logs[2].test_acc).toBeGreaterThan(0.9);
    expect(net.history).toHaveLength(3);
    const ev = net.evaluate(data.test);
    expect(ev.accuracy).toBeCloseTo(logs[2].test_acc!, 6);
    const probs = net.predict(data.test.images.subarray(0, 2 * 64));
    expect(probs).toHaveLength(6);
    expect(probs[0] + probs[1] + probs[2]).toBeCloseTo(1, 5);
    net.dispose();
  });

  it('an AbortSignal stops after the step; save, load and resume give the uninterrupted weights', async () => {
    const whole = sequential([8, 8], [dense(16), relu(), dense(3)], { threads: 1 });
    await train(whole, data, opts);
    const ref = whole.weights()!;

    const part = sequential([8, 8], [dense(16), relu(), dense(3)], { threads: 1 });
    const stop = new AbortController();
    const r = await train(part, data, { ...opts, signal: stop.signal, onBatchEnd: (_, s) => { if (s.step === 13) stop.abort(); } });
    expect(r.status).toBe('stopped');
    const file = join(dir, 'stopped.safetensors');
    part.save(file);
    part.dispose();
    const again = load(file, { threads: 1 });
    expect((await train(again, data, { epochs: 3, resume: true })).status).toBe('done');
    const w = again.weights()!;
    for (const k of Object.keys(ref)) expect(Buffer.from(w[k].buffer, w[k].byteOffset, w[k].byteLength)).toEqual(Buffer.from(ref[k].buffer, ref[k].byteOffset, ref[k].byteLength));
    expect(again.evaluate(data.test)).toEqual(whole.evaluate(data.test));
    whole.dispose();
    again.dispose();
  });
});

describe('memory and errors', () => {
  it('dispose frees the backend; a disposed network refuses work with a UserError', async () => {
    const net = sequential([8, 8], [dense(16), relu(), dense(3)], { threads: 1 });
    await train(net, data, { ...opts, epochs: 1 });
    net.dispose();
    expect(() => net.predict(new Uint8Array(64))).toThrow(UserError);
    expect(() => net.save(join(dir, 'x.safetensors'))).toThrow(/disposed/);
  });

  it('Model.dispose drops the rows a full-batch first layer kept', () => {
    const backend = new WasmBackend('simd');
    const model = new Model(backend, sequential([8, 8], [dense(16), relu(), dense(3)]).spec, 64);
    const x = backend.f32(64 * 64);
    const ctx = { training: true, rng: new Rng(1), repeat: 0 };
    model.forward(x, 64, ctx);
    expect(model.readsInput(ctx)).toBe(false);
    model.dispose();
    expect(model.readsInput(ctx)).toBe(true);
  });

  it('load of a file that is not a checkpoint, and an untrained save, are UserErrors', () => {
    const f = join(dir, 'notes.safetensors');
    writeFileSync(f, 'hello');
    expect(() => load(f)).toThrow(UserError);
    expect(() => sequential(64, [dense(3)]).save(join(dir, 'y.safetensors'))).toThrow(/train\(\) it/);
  });
});
