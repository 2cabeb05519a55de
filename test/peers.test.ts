// The framework comparison trains the same thing on both sides: starting from the same weights,
// TF.js (cpu and wasm backends, .wasm files loaded offline from node_modules) and our Model give
// the same losses over the first steps of W1 (SGD), W2 (Adam) and the CNN W3 (Adam; TF.js in NHWC
// with converted conv weights and permuted dense rows), and the loss goes down. A negative control
// shows the W3 check notices a dense layer that reads the flatten in the wrong order.
import { describe, expect, it } from 'vitest';
import { WORKLOADS, loadTf, oursStep, tfStep } from '../bench/peers.js';
import { createBackend } from '../src/engine/index.js';

// [workload, TF.js backend, steps]: TF.js cpu takes ~5 s per W3 step, so 3 steps there.
const cases: [string, 'cpu' | 'wasm', number][] = [
  ['W1', 'cpu', 4], ['W1', 'wasm', 4], ['W2', 'wasm', 4], ['W3', 'wasm', 4], ['W3', 'cpu', 3],
];

/** Losses of the first `steps` steps of workload id on ours and on TF.js's tfBackend. */
async function losses(id: string, tfBackend: 'cpu' | 'wasm', steps: number, permuteDense = true) {
  const w = WORKLOADS.find((x) => x.id === id)!;
  const ours = oursStep(createBackend('wasm-simd'), w);
  const tf = await loadTf();
  expect(await tf.setBackend(tfBackend)).toBe(true);
  await tf.ready();
  const theirs = tfStep(tf, w, ours.weights(), { permuteDense });
  const a: number[] = [], b: number[] = [];
  try {
    for (let i = 0; i < steps; i++) { a.push(ours.step()); b.push(theirs.step()); }
  } finally {
    theirs.free();
  }
  return { a, b };
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-4 * Math.max(1, Math.abs(b));

describe('peers: TF.js and ours follow one trajectory', () => {
  for (const [id, tfBackend, steps] of cases) {
    it(`${id} on tfjs-${tfBackend}: the same losses for ${steps} steps`, async () => {
      const { a, b } = await losses(id, tfBackend, steps);
      for (let i = 0; i < steps; i++) expect(close(a[i], b[i]), `step ${i}: ours ${a[i]}, tfjs ${b[i]}`).toBe(true);
      expect(a[steps - 1]).toBeLessThan(a[0]);
    });
  }

  it('W3 on tfjs-wasm: dense rows left in our (C,H,W) order give other losses', async () => {
    const { a, b } = await losses('W3', 'wasm', 2, false);
    expect(close(a[0], b[0]) && close(a[1], b[1])).toBe(false);
  });
});
