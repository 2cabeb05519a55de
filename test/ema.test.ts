// The moving average of the weights (`ema`): it leaves training alone and changes what is evaluated
// and saved, it follows a float64 reference of e = d e + (1 - d) w, it has the same bits on 1 and 2
// threads, and a run stopped and resumed through save/load ends where the uninterrupted one does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchNorm, dense, load, relu, sequential, train, type Dataset, type Network } from '../src/index.js';
import { bands } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-ema-'));

const data = { train: bands(240, 1), test: bands(90, 2) };
const opts = { epochs: 2, batch: 32, lr: 0.01, ema: 0.9 };
/** 64*600 + 600 + 2*600 (bn) + 600*3 + 3 trained floats: above the threshold where SGD splits over threads. */
const net = (threads: number): Network => sequential([8, 8], [dense(600), batchNorm(), relu(), dense(3)], { threads });

const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
function sameWeights(a: Record<string, Float32Array>, b: Record<string, Float32Array>): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const k of Object.keys(a)) expect(Buffer.compare(bytes(a[k]), bytes(b[k])), k).toBe(0);
}
const copy = (w: Record<string, Float32Array>) => Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.slice()]));

describe('ema', () => {
  it('trains the same weights as without, but evaluates and saves their average', async () => {
    const off = net(1), on = net(1);
    const a = await train(off, data, { ...opts, ema: 0 });
    const b = await train(on, data, opts);
    // The training weights are untouched by the average ...
    expect(Buffer.compare(bytes(off.trainer!.model.params), bytes(on.trainer!.model.params))).toBe(0);
    // ... but what is evaluated, returned and saved is the average.
    const lossOff = a.history.at(-1)!.test_loss!, lossOn = b.history.at(-1)!.test_loss!;
    expect(Math.abs(lossOn - lossOff)).toBeGreaterThan(1e-3 * lossOff);
    // net.evaluate batches differently from the trainer: equal up to the summation's rounding.
    expect(Math.abs(on.evaluate(data.test).loss - lossOn)).toBeLessThan(1e-5 * lossOn);
    expect(off.weights()!.W1).not.toEqual(on.weights()!.W1);
    const file = join(dir, 'on.safetensors');
    on.save(file);
    const loaded = load(file, { threads: 1 });
    expect(loaded.evaluate(data.test)).toEqual(on.evaluate(data.test));
    for (const n of [off, on, loaded]) n.dispose();
  });

  it('follows a float64 reference of e = d e + (1 - d) w over a few steps; running statistics are copied', async () => {
    const d = 0.9;
    const n = net(1);
    let e64: Float64Array | null = null;
    let worst = 0;
    await train(n, data, {
      ...opts, epochs: 1, ema: d,
      onEpochBegin: () => { e64 ??= Float64Array.from(n.trainer!.model.params); },
      onBatchEnd: () => {
        const t = n.trainer!, w = t.model.params, e = t.ema!;
        for (let i = 0; i < t.model.trained; i++) {
          e64![i] = d * e64![i] + (1 - d) * w[i];
          worst = Math.max(worst, Math.abs(e[i] - e64![i]) / (1e-3 + Math.abs(e64![i])));
        }
        // Running statistics (after the trained floats) are the training ones as they are.
        expect(Buffer.compare(bytes(e.subarray(t.model.trained)), bytes(w.subarray(t.model.trained)))).toBe(0);
      },
    });
    expect(n.trainer!.state.step).toBe(8);
    // f32 rounding of a few updates, far below the gap between the average and the weights.
    expect(worst).toBeLessThan(1e-5);
    const t = n.trainer!;
    let gap = 0;
    for (let i = 0; i < t.model.trained; i++) gap = Math.max(gap, Math.abs(t.ema![i] - t.model.params[i]));
    expect(gap).toBeGreaterThan(1e-3);
    n.dispose();
  });

  it('gives the same bits on 1 and 2 threads', async () => {
    const one = net(1), two = net(2);
    const a = await train(one, data, opts);
    const b = await train(two, data, opts);
    sameWeights(one.weights()!, two.weights()!);
    expect(b.history).toEqual(a.history.map((h, i) => ({ ...h, seconds: b.history[i].seconds, samples_per_s: b.history[i].samples_per_s })));
    one.dispose();
    two.dispose();
  });

  it('stopped, saved, loaded and resumed: the same average and weights as the uninterrupted run', async () => {
    const whole = net(1);
    await train(whole, data, opts);
    const part = net(1);
    const stop = new AbortController();
    const r = await train(part, data, { ...opts, signal: stop.signal, onBatchEnd: (_, s) => { if (s.step === 5) stop.abort(); } });
    expect(r.status).toBe('stopped');
    const file = join(dir, 'stopped.safetensors');
    part.save(file);
    part.dispose();
    const again = load(file, { threads: 1 });
    expect((await train(again, data, { epochs: 2, resume: true })).status).toBe('done');
    sameWeights(copy(again.weights()!), copy(whole.weights()!));
    expect(Buffer.compare(bytes(again.trainer!.model.params), bytes(whole.trainer!.model.params))).toBe(0);
    expect(again.evaluate(data.test)).toEqual(whole.evaluate(data.test));
    whole.dispose();
    again.dispose();
  });
});
