// A WebAssembly trap inside a kernel (out-of-bounds access, unreachable) must surface as a
// KernelTrapError naming the kernel and its arguments, never as a bare "RuntimeError: unreachable".
// The kernels are made to trap on purpose: a size far past the end of memory, and (for unreachable,
// which the release build never emits) an export swapped for a module whose body is `unreachable`.
import { afterAll, describe, expect, it } from 'vitest';
import { ThreadedWasmBackend } from '../src/engine/threads/backend.js';
import { KernelTrapError, WasmBackend } from '../src/engine/wasm.js';

/** Expects fn to throw a one-line KernelTrapError whose message matches every pattern. */
function expectTrap(fn: () => unknown, ...patterns: RegExp[]): KernelTrapError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(KernelTrapError);
  const e = err as KernelTrapError;
  expect(e).not.toBeInstanceOf(WebAssembly.RuntimeError);
  expect(e.cause).toBeInstanceOf(WebAssembly.RuntimeError);
  expect(e.message).not.toMatch(/\n/);
  for (const p of patterns) expect(e.message).toMatch(p);
  return e;
}

/** (module (func (export "f") (param i32 i32 i32 i32) (result i32) unreachable)) */
const UNREACHABLE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x09, 0x01, 0x60, 0x04, 0x7f, 0x7f, 0x7f, 0x7f, 0x01, 0x7f,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00,
  0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b]);

describe('WASM traps become KernelTrapError', () => {
  for (const variant of ['simd', 'scalar'] as const) {
    it(`out-of-bounds size, ${variant}: names the kernel and the shapes`, () => {
      const b = new WasmBackend(variant, 4 << 20);
      const out = b.f32(16), inp = b.f32(16);
      const sfx = variant === 'scalar' ? '_scalar' : '';
      const N = 1 << 28; // 1 GiB of floats: far past the end of a 4 MiB memory
      const e = expectTrap(() => b.activationForward('relu', out, inp, N, 0),
        new RegExp(`kernel activation_forward${sfx} trapped`), /out of bounds/, /kind=relu/, new RegExp(`N=${N}`),
        new RegExp(`out=f32\\[16\\]@${out.byteOffset}`), /memory \d+ bytes/, /bug/);
      expect(e.kernel).toBe(`activation_forward${sfx}`);
      const c = b.f32(4), a = b.f32(4), w = b.f32(4);
      expectTrap(() => b.gemm(c, a, w, null, 1 << 20, 64, 64, false, false, false),
        new RegExp(`kernel gemm${sfx} trapped`), /M=1048576, N=64, K=64/, /bias=null/, /transA=0/);
    });
  }

  it('unreachable: names the kernel and the shapes', () => {
    const b = new WasmBackend('simd', 4 << 20);
    const trap = new WebAssembly.Instance(new WebAssembly.Module(UNREACHABLE)).exports.f;
    (b.k as Record<string, unknown>).count_correct = trap;
    const logits = b.f32(40), labels = b.i32(4);
    expectTrap(() => b.countCorrect(logits, labels, 4, 10), /kernel count_correct trapped \(unreachable/, /B=4, C=10/,
      /logits=f32\[40\]/, /labels=i32\[4\]/);
  });

  it('errors that are not traps pass through unchanged', () => {
    const b = new WasmBackend('simd', 4 << 20);
    const outside = new Float32Array(16);
    expect(() => b.activationForward('relu', outside, outside, 16, 0)).toThrow(/not in WASM memory/);
    // and a normal call still works after a trap
    const out = b.f32(16), inp = b.f32(16);
    inp.fill(-2);
    inp[3] = 5;
    expect(() => b.activationForward('relu', out, inp, 1 << 28, 0)).toThrow(KernelTrapError);
    inp.fill(-2);
    inp[3] = 5;
    b.activationForward('relu', out, inp, 16, 0);
    expect(Array.from(out)).toEqual(Array.from(inp, (x) => Math.max(0, x)));
  });

  describe('threads', () => {
    let tb: ThreadedWasmBackend | null = null;
    afterAll(() => tb?.dispose());
    it('a trap on a worker (or the main thread) is a KernelTrapError with the kernel and the shapes', () => {
      tb = new ThreadedWasmBackend('simd', 2, 4 << 20);
      const out = tb.f32(16), inp = tb.f32(16);
      // Large enough to be split over the pool; every chunk runs past the end of memory.
      expectTrap(() => tb!.activationForward('relu', out, inp, 1 << 28, 0), /kernel activation_forward trapped/,
        /out of bounds/, /N=268435456/, new RegExp(`out=f32\\[16\\]@${out.byteOffset}`));
    });
  });
});
