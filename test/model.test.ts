// Model building blocks: --arch parsing (and its errors), the parameter arena and its names,
// predict, and the dense layer's gradients against finite differences of the whole model.
import { describe, expect, it } from 'vitest';
import { createBackend } from '../src/engine/index.js';
import { UserError } from '../src/errors.js';
import { executionOrder, Model } from '../src/model/model.js';
import { createLayer } from '../src/model/layers/index.js';
import type { LayerSpec } from '../src/model/layer.js';
import { parseArch } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';
import { expectClose, randomF32 } from './helpers.js';

const mnist = { height: 28, width: 28, classes: 10 };
const relu = { activation: 'relu' as const, alpha: 0.01, dropout: 0 };

describe('parseArch', () => {
  it('turns 784-128-10 into dense, activation, dense', () => {
    const s = parseArch('784-128-10', relu, mnist);
    expect(s.input).toEqual([1, 28, 28]);
    expect(s.layers.map((l) => l.type)).toEqual(['dense', 'activation', 'dense']);
    expect(s.layers[0].units).toBe(128);
  });
  it('inserts dropout after each hidden activation only', () => {
    const s = parseArch('784-64-32-10', { ...relu, dropout: 0.2 }, mnist);
    expect(s.layers.map((l) => l.type)).toEqual(['dense', 'activation', 'dropout', 'dense', 'activation', 'dropout', 'dense']);
  });
  it('rejects a mismatched input or output with the fix in the message', () => {
    expect(() => parseArch('100-10', relu, mnist)).toThrow(/start --arch with 784/);
    expect(() => parseArch('784-128-7', relu, mnist)).toThrow(/end --arch with 10/);
    expect(() => parseArch('784', relu, mnist)).toThrow(UserError);
    expect(() => parseArch('784-abc-10', relu, mnist)).toThrow(/not understood/);
  });
});

describe('Model', () => {
  it('names parameters W1, b1, W2, b2 with the seed shapes, in one aligned arena', () => {
    const be = createBackend('ts');
    const m = new Model(be, parseArch('784-10-10', relu, mnist), 4);
    expect(m.entries.map((e) => `${e.name}:${e.shape.join('x')}`)).toEqual(['W1:10x784', 'b1:10', 'W2:10x10', 'b2:10']);
    for (const e of m.entries) expect(e.offset % 16).toBe(0);
    expect(m.paramCount).toBe(7850 + 110);
    m.init(new Rng(1), 'uniform');
    const w = m.param('W1')!.value;
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-0.5);
    expect(Math.max(...w)).toBeLessThan(0.5);
    expect(Math.max(...m.param('b1')!.value)).not.toBe(0); // the seed draws biases too
  });

  it('predict gives rows of probabilities, the same in and across batches', () => {
    const be = createBackend('wasm');
    const m = new Model(be, parseArch('784-32-10', relu, mnist), 3);
    m.init(new Rng(2), 'he');
    const x = randomF32(7 * 784, 3, 0, 1);
    const p = m.predict(x, 7);
    for (let b = 0; b < 7; b++) {
      const row = p.subarray(b * 10, b * 10 + 10);
      expect(Math.abs(row.reduce((a, v) => a + v, 0) - 1)).toBeLessThan(1e-5);
    }
    expectClose(m.predict(x.subarray(5 * 784), 2), p.subarray(50), 1e-6, 1e-5);
  });

  it('backward matches finite differences of the mean loss (tanh, two hidden layers)', () => {
    const be = createBackend('ts');
    const spec = parseArch('6-5-4-3', { activation: 'tanh', alpha: 0, dropout: 0 }, { height: 2, width: 3, classes: 3 });
    const m = new Model(be, spec, 4);
    m.init(new Rng(4), 'glorot');
    const x = randomF32(4 * 6, 5);
    const y = new Int32Array([0, 2, 1, 2]);
    const dl = new Float32Array(12);
    const loss = () => be.softmaxCrossEntropy(null, m.forward(x, 4, { training: false, rng: null }), y, 4, 3) / 4;
    m.zeroGrad();
    be.softmaxCrossEntropy(dl, m.forward(x, 4, { training: false, rng: null }), y, 4, 3);
    m.backward(dl, 4);
    const analytic = m.grads.slice();
    const numeric = new Float32Array(m.params.length);
    for (const e of m.entries) {
      for (let i = e.offset; i < e.offset + e.size; i++) {
        const w = m.params[i];
        const h = 1e-2;
        m.params[i] = w + h; const lp = loss();
        m.params[i] = w - h; const lm = loss();
        m.params[i] = w;
        numeric[i] = (lp - lm) / (2 * h);
      }
    }
    expectClose(analytic, numeric, 2e-3, 2e-2);
  });
});

describe('executionOrder', () => {
  const img14 = { height: 14, width: 14, classes: 10 };
  const cnnSpec = () => parseArch('conv4k3-relu-pool2-conv6k3-relu-maxpool2-dense10', relu, img14);

  it('runs relu after a max pool, and leaves other pairs alone', () => {
    const kinds = (ls: LayerSpec[]) => ls.map((l) => (l.type === 'activation' ? String(l.fn) : l.type));
    expect(kinds(executionOrder(cnnSpec().layers)))
      .toEqual(['conv2d', 'pool', 'relu', 'conv2d', 'pool', 'relu', 'dense']);
    const tanh = parseArch('conv4k3-tanh-pool2-dense10', relu, img14);
    expect(kinds(executionOrder(tanh.layers))).toEqual(['conv2d', 'tanh', 'pool', 'dense']);
    const avg = parseArch('conv4k3-relu-avgpool2-dense10', relu, img14);
    expect(kinds(executionOrder(avg.layers))).toEqual(['conv2d', 'relu', 'pool', 'dense']);
  });

  it('gives the same logits and gradients, bit for bit, as the layers in spec order', () => {
    for (const name of ['ts', 'wasm'] as const) {
      const be = createBackend(name);
      const spec = cnnSpec();
      const B = 5;
      const model = new Model(be, spec, B);
      model.init(new Rng(3), 'he');
      // The same layers, built and bound in spec order over the model's own parameter views.
      let shape = spec.input;
      const plain = spec.layers.map((ls) => { const l = createLayer(ls, shape); shape = l.outShape; return l; });
      const grads = be.f32(model.grads.length);
      let n = 0;
      plain.forEach((l, i) => {
        const mine = model.entries.slice(n, n + l.paramDefs.length);
        n += l.paramDefs.length;
        l.bind(be, mine.map((e) => e.value), mine.map((e) => grads.subarray(e.offset, e.offset + e.size)), B, i > 0);
      });
      const x = be.f32(B * 196);
      x.set(randomF32(B * 196, 7));
      const ctx = { training: true, rng: null };
      const y = be.i32(B);
      for (let b = 0; b < B; b++) y[b] = b % 10;
      const d1 = be.f32(B * 10);
      const d2 = be.f32(B * 10);

      model.zeroGrad();
      const logits = model.forward(x, B, ctx);
      const l1 = Float32Array.from(logits);
      be.softmaxCrossEntropy(d1, logits, y, B, 10);
      model.backward(d1, B);
      let h = x;
      for (const l of plain) h = l.forward(h, B, ctx);
      const l2 = Float32Array.from(h);
      be.softmaxCrossEntropy(d2, h, y, B, 10);
      let d: Float32Array | null = d2;
      for (let i = plain.length - 1; i >= 0 && d; i--) d = plain[i].backward(d, B);

      expect(Array.from(l1)).toEqual(Array.from(l2));
      expect(Array.from(model.grads)).toEqual(Array.from(grads));
      expect(model.grads.some((g) => g !== 0)).toBe(true);
    }
  });
});
