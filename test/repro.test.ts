// Reproducibility of the train CLI (compiled dist/, as a person runs it): the same command and
// seed give the same checkpoint twice, with 1 and with 2 threads, and the TypeScript reference
// backend agrees with the WASM one within a stated tolerance.
//
// "Same checkpoint": the tensor bytes (weights, optimizer state) are identical, and so is the whole
// file once the wall-clock fields of the training state are zeroed: state.seconds,
// state.trainSeconds and each history entry's seconds and samples_per_s (they record how long the run took, which no seed
// fixes). Nothing else in the file depends on the run: no timestamps, no paths beyond the --data
// given. weights.npz (fixed zip mtime) is compared byte for byte as written.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { runTrain, writeTinyMnist } from './fuzz/train_cli.js';

const dir = mkdtempSync(join(tmpdir(), 'wasmnist-repro-'));
let data = '';
const base = () => ['--data', data, '--arch', '784-64-10', '--batch', '64', '--epochs', '2', '--seed', '7', '--quiet'];
/**
 * ts vs wasm after 2 epochs (64 Adam steps): the kernels sum in different orders (SIMD lanes,
 * packed gemm blocks), so float rounding differs from the first step and Adam carries it on.
 * Measured: max |weight diff| 1.0e-6, same test accuracy. Stated tolerance (100x headroom):
 * every weight within 1e-4 absolute, test accuracy within half a point.
 */
const TS_WASM_ATOL = 1e-4;
const TS_WASM_ACC = 0.005;

/** The checkpoint with the wall-clock fields zeroed, re-encoded, plus its raw tensors. */
function normalized(path: string): { bytes: Uint8Array; tensors: Record<string, Uint8Array>; f32: Record<string, Float32Array> } {
  const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const state = JSON.parse(metadata.state);
  state.seconds = 0;
  if (state.trainSeconds !== undefined) state.trainSeconds = 0;
  for (const h of state.history) { h.seconds = 0; h.samples_per_s = 0; }
  const bytes = encodeSafetensors(tensors, { ...metadata, state: JSON.stringify(state) });
  const raw = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)]));
  const f32 = Object.fromEntries(Object.entries(tensors).filter(([, t]) => t.dtype === 'F32').map(([k, t]) => [k, t.data as Float32Array]));
  return { bytes, tensors: raw, f32 };
}

async function train(name: string, extra: string[]) {
  const out = join(dir, name);
  const r = await runTrain([...base(), ...extra, '--out', out]);
  expect(r.code, r.err).toBe(0);
  return { out, ck: join(out, 'checkpoint.safetensors'), acc: Number(/accuracy ([\d.]+)%/.exec(r.out)![1]) / 100 };
}

beforeAll(() => { data = writeTinyMnist(join(dir, 'data'), 2000, 500); });

describe('same command, same seed, same checkpoint', () => {
  let first: Awaited<ReturnType<typeof train>>;
  it('two runs with 1 thread: identical tensors, identical file up to the wall-clock fields, identical weights.npz', async () => {
    first = await train('a', ['--threads', '1']);
    const second = await train('b', ['--threads', '1']);
    const a = normalized(first.ck), b = normalized(second.ck);
    for (const k of Object.keys(a.tensors)) expect(Buffer.compare(a.tensors[k], b.tensors[k]), k).toBe(0);
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
    expect(Buffer.compare(readFileSync(join(first.out, 'weights.npz')), readFileSync(join(second.out, 'weights.npz')))).toBe(0);
  });

  it('2 threads give the same checkpoint as 1 thread', async () => {
    const two = await train('threads2', ['--threads', '2']);
    const a = normalized(first.ck), b = normalized(two.ck);
    for (const k of Object.keys(a.tensors)) expect(Buffer.compare(a.tensors[k], b.tensors[k]), k).toBe(0);
    expect(Buffer.compare(a.bytes, b.bytes)).toBe(0);
  });

  it(`--backend ts agrees with wasm: weights within ${TS_WASM_ATOL}, test accuracy within ${100 * TS_WASM_ACC} point`, async () => {
    const ts = await train('ts', ['--backend', 'ts']);
    const a = normalized(first.ck).f32, b = normalized(ts.ck).f32;
    let maxDiff = 0, worst = '';
    for (const k of Object.keys(a).filter((n) => /^[A-Za-z]+\d+$/.test(n))) {
      for (let i = 0; i < a[k].length; i++) {
        const d = Math.abs(a[k][i] - b[k][i]);
        if (!(d <= maxDiff)) { maxDiff = d; worst = `${k}[${i}]`; }
      }
    }
    console.log(`repro: ts vs wasm after 2 epochs: max |weight diff| ${maxDiff.toExponential(2)} at ${worst}; ` +
      `test accuracy ${(100 * first.acc).toFixed(2)}% (wasm) vs ${(100 * ts.acc).toFixed(2)}% (ts)`);
    expect(maxDiff).toBeLessThanOrEqual(TS_WASM_ATOL);
    expect(Math.abs(first.acc - ts.acc)).toBeLessThanOrEqual(TS_WASM_ACC);
  });
});
