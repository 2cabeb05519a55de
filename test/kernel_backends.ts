// Test utilities for the kernel suites: every WASM variant this Node can run, copies of host
// arrays into a backend's memory (optionally at an offset that breaks 16-byte alignment), and a
// recorder of the largest difference seen per check, printed once per file.
import { afterAll, expect } from 'vitest';
import type { Backend } from '../src/engine/backend.js';
import { TsBackend } from '../src/engine/ts.js';
import { WasmBackend, enableRelaxedSimd, relaxedSupported } from '../src/engine/wasm.js';
import { compare, expectClose } from './helpers.js';

/** wasm-simd, wasm-scalar, and wasm-relaxed when V8 validates the relaxed build. */
export function wasmBackends(): WasmBackend[] {
  const out = [new WasmBackend('simd'), new WasmBackend('scalar')];
  enableRelaxedSimd();
  if (relaxedSupported()) out.push(new WasmBackend('relaxed'));
  return out;
}

/** The reference backend. */
export const ref: Backend = new TsBackend();

/**
 * A copy of src in be's memory starting `shift` elements past an aligned allocation, so shift 1
 * gives a pointer that is 4 mod 16 (v128.load/store must cope with it).
 */
export function putF32(be: Backend, src: ArrayLike<number>, shift = 0): Float32Array {
  const a = be.f32(src.length + shift).subarray(shift);
  a.set(src);
  return a;
}
export function putI32(be: Backend, src: ArrayLike<number>, shift = 0): Int32Array {
  const a = be.i32(src.length + shift).subarray(shift);
  a.set(src);
  return a;
}
export function putU8(be: Backend, src: ArrayLike<number>, shift = 0): Uint8Array {
  const a = be.u8(src.length + shift).subarray(shift);
  a.set(src);
  return a;
}

const worst = new Map<string, number>();

/** expectClose, and remember the largest |got - want| under `label` for the summary. */
export function check(label: string, got: ArrayLike<number>, want: ArrayLike<number>, atol: number,
  rtol: number): void {
  // equal elements (infinities included, where got - want would be NaN) count as a 0 difference
  const g = Float64Array.from(got);
  const w = Float64Array.from(want);
  for (let i = 0; i < Math.min(g.length, w.length); i++) if (g[i] === w[i]) g[i] = w[i] = 0;
  got = g;
  want = w;
  const r = compare(got, want, atol, rtol);
  worst.set(label, Math.max(worst.get(label) ?? 0, r.maxDiff));
  expectClose(got, want, atol, rtol);
}

/** Prints `label  max |diff|` for every check of this file when it ends. */
export function reportMaxDiffs(title: string): void {
  afterAll(() => {
    const lines = [...worst.entries()].map(([k, v]) => `  ${k.padEnd(50)} max |diff| ${v.toExponential(2)}`);
    console.log(`${title}\n${lines.join('\n')}`);
  });
}

/** Bit patterns of a Float32Array, for bit-for-bit comparisons. */
export function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

/** Fails unless got and want hold the same f32 bit patterns (fast for long arrays). */
export function expectSameBits(got: Float32Array, want: Float32Array): void {
  const g = bits(got), w = bits(want);
  let bad = g.length === w.length ? -1 : Math.min(g.length, w.length);
  for (let i = 0; i < Math.min(g.length, w.length) && bad < 0; i++) if (g[i] !== w[i]) bad = i;
  if (bad >= 0) expect.fail(`bits differ at ${bad} (lengths ${g.length}, ${w.length}): got ${got[bad]}, want ${want[bad]}`);
}
