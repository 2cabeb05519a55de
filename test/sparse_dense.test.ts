// The model builder picks the zero-skipping first layer (SparseDense) only where it applies, and
// Model.dispose() gives the backend its memory back, kept rows included.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/engine/backend.js';
import { TsBackend } from '../src/engine/ts.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { Model } from '../src/model/model.js';
import { Dense } from '../src/model/layers/dense.js';
import { SparseDense } from '../src/model/layers/sparse_dense.js';
import { parseArch } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';

const MNIST = { height: 28, width: 28, classes: 10 };
const RELU = { activation: 'relu' as const, alpha: 0.01, dropout: 0 };

/** A TsBackend without the sparse kernels (a backend that does not offer them). */
function withoutSparse(): Backend {
  const be = new TsBackend() as Partial<TsBackend>;
  delete be.sparseRows;
  delete be.sparseForward;
  delete be.sparseWeightGrad;
  return be as Backend;
}

describe('SparseDense', () => {
  it('is the first dense layer only, with sparseInput on and a backend that has the sparse kernels', () => {
    const spec = parseArch('784-32-16-10', RELU, MNIST);
    const kinds = (m: Model) => m.layers.filter((l) => l instanceof Dense).map((l) => l.constructor.name);
    expect(kinds(new Model(new WasmBackend('simd'), spec, 8))).toEqual(['SparseDense', 'Dense', 'Dense']);
    expect(kinds(new Model(new WasmBackend('simd'), spec, 8, { sparseInput: false }))).toEqual(['Dense', 'Dense', 'Dense']);
    const plain = new Model(withoutSparse(), spec, 8);
    expect(plain.layers[0]).not.toBeInstanceOf(SparseDense);
    expect(plain.readsInput({ training: true, rng: null, repeat: 0 })).toBe(true);
  });

  it('dispose() releases the model and its kept rows: the backend is back at its mark', () => {
    const be = new WasmBackend('simd');
    const before = be.mark();
    const B = 16;
    const model = new Model(be, parseArch('784-32-10', RELU, MNIST), B);
    model.init(new Rng(3), 'he');
    const x = be.f32(B * 784);
    for (let i = 0; i < x.length; i += 7) x[i] = 1; // 1 in 7 nonzero: kept as compressed rows
    const ctx = { training: true, rng: null, repeat: 0 };
    model.forward(x, B, ctx);
    expect(model.readsInput(ctx)).toBe(false);
    expect(be.mark()).toBeGreaterThan(before);
    model.dispose();
    expect(be.mark()).toBe(before);
    expect(model.readsInput(ctx)).toBe(true);
  });
});
