// fillZero (assembly/fill.ts) on every backend: zeroes exactly x[0, N), at any alignment, and the
// model's zeroGrad goes through it.
import { describe, expect, it } from 'vitest';
import type { Backend } from '../src/engine/backend.js';
import { TsBackend } from '../src/engine/ts.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { randomF32 } from './helpers.js';
import { putF32, wasmBackends } from './kernel_backends.js';

const backends: Backend[] = [new TsBackend(), ...wasmBackends()];

describe.each(backends.map((be) => [be.name, be] as const))('%s', (_name, be) => {
  it.each([0, 1, 3, 4, 17, 1000])('fillZero zeroes the first %i floats and nothing past them', (N) => {
    for (const shift of [0, 1]) {
      const src = randomF32(N + 5, N + shift);
      const x = putF32(be, src, shift);
      be.fillZero(x, N);
      expect(Array.from(x.subarray(0, N))).toEqual(new Array(N).fill(0));
      expect(Array.from(x.subarray(N))).toEqual(Array.from(src.subarray(N)));
    }
  });

  it('Model.zeroGrad zeroes every gradient', () => {
    const spec = parseArch('784-16-10', { activation: 'relu', alpha: 0.01, dropout: 0 }, { height: 28, width: 28, classes: 10 });
    const model = new Model(be, spec, 4);
    model.grads.set(randomF32(model.grads.length, 9));
    model.zeroGrad();
    expect(model.grads.every((g) => g === 0)).toBe(true);
  });
});
