// The framework comparison trains the same thing on both sides: starting from the same weights,
// TF.js (cpu and wasm backends, .wasm files loaded offline from node_modules) and our Model give
// the same losses over the first steps of W1 (SGD) and W2 (Adam), and the loss goes down.
import { describe, expect, it } from 'vitest';
import { WORKLOADS, loadTf, oursStep, tfStep } from '../bench/peers.js';
import { createBackend } from '../src/engine/index.js';

const cases: [string, 'cpu' | 'wasm'][] = [['W1', 'cpu'], ['W1', 'wasm'], ['W2', 'wasm']];

describe('peers: TF.js and ours follow one trajectory', () => {
  for (const [id, tfBackend] of cases) {
    it(`${id} on tfjs-${tfBackend}: the same losses for 4 steps`, async () => {
      const w = WORKLOADS.find((x) => x.id === id)!;
      const ours = oursStep(createBackend('wasm-simd'), w);
      const tf = await loadTf();
      expect(await tf.setBackend(tfBackend)).toBe(true);
      await tf.ready();
      const theirs = tfStep(tf, w, ours.weights());
      const a: number[] = [], b: number[] = [];
      for (let i = 0; i < 4; i++) { a.push(ours.step()); b.push(theirs.step()); }
      theirs.free();
      for (let i = 0; i < 4; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(b[i])));
      expect(a[3]).toBeLessThan(a[0]);
    });
  }
});
