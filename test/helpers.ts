// Shared test utilities: seeded inputs and an allclose that reports the worst element.
import { expect } from 'vitest';
import { UserError } from '../src/errors.js';
import { Rng } from '../src/util/rng.js';
import type { Dataset } from '../src/data/dataset.js';

/** n uniform values in [lo, hi) from a seeded generator. */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rng.float();
  return out;
}

/** Largest |got - want| and whether every element passes |got - want| <= atol + rtol * |want|. */
export function compare(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number) {
  let maxDiff = 0;
  let worst = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * Math.abs(want[i]))) { if (worst < 0) worst = i; }
    if (d > maxDiff || Number.isNaN(d)) maxDiff = Number.isNaN(d) ? Infinity : d;
  }
  return { ok: worst < 0 && got.length === want.length, maxDiff, worst };
}

export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-5, rtol = 1e-5): void {
  const r = compare(got, want, atol, rtol);
  if (!r.ok) {
    const i = r.worst;
    expect.fail(`not close: length ${got.length} vs ${want.length}; first bad element ${i}: ` +
      `got ${got[i]}, want ${want[i]}; max |diff| ${r.maxDiff}`);
  }
}

/** Asserts that fn throws a UserError whose one-line message matches re; returns it. */
export function expectUserError(fn: () => unknown, re: RegExp): UserError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toMatch(re);
  expect((err as Error).message).not.toContain('\n');
  return err as UserError;
}

/** IDX file bytes: magic 0x0800 | ndims (or the given one), big-endian u32 sizes, then the values. */
export function encodeIdx(dims: number[], values: Uint8Array, magic = 0x800 | dims.length): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, magic, false);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(values, 4 + 4 * dims.length);
  return out;
}

/** n 8x8 images of 3 classes: class k has a bright row band at rows 2k..2k+2, plus seeded noise. */
export function bands(n: number, seed: number): Dataset {
  const rng = new Rng(seed);
  const images = new Uint8Array(n * 64);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 3;
    labels[i] = k;
    for (let p = 0; p < 64; p++) {
      const row = p >> 3;
      images[i * 64 + p] = (row >= 2 * k && row < 2 * k + 3 ? 200 : 0) + rng.int(50);
    }
  }
  return { images, labels, n, height: 8, width: 8, classes: 3, source: `bands(${n})` };
}
