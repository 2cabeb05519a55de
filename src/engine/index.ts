// Picks a backend: `wasm` (SIMD; relaxed SIMD when the runtime has it) or `ts` (the reference).
// One WasmBackend serves any thread count; with threads > 1 it is built as a ThreadedWasmBackend
// (the same class, the thread count first), which owns a worker pool over the shared memory.
import { UserError } from '../errors.js';
import type { Backend } from './backend.js';
import { ThreadedWasmBackend } from './threads/backend.js';
import { TsBackend } from './ts.js';
import { WasmBackend, relaxedSupported, simdSupported, enableRelaxedSimd, type WasmVariant } from './wasm.js';

export type BackendName = 'wasm' | 'ts' | 'wasm-simd' | 'wasm-relaxed' | 'wasm-scalar';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'ts', 'wasm-simd', 'wasm-relaxed', 'wasm-scalar'];

export interface BackendOptions {
  /** Turn on V8's relaxed SIMD (Node 20 flag) and use the relaxed build when it validates. */
  relaxed?: boolean;
  /** Initial WASM memory in bytes (it grows on demand). */
  initialBytes?: number;
  /**
   * Threads for the big kernels, the main thread included (default 1). With more than 1 the
   * wasm backends run large matmuls and element-wise kernels on a worker pool; results are
   * bit-identical for any thread count. The CLIs pass os.availableParallelism().
   */
  threads?: number;
}

export function createBackend(name: BackendName = 'wasm', opts: BackendOptions = {}): Backend {
  if (name === 'ts') return new TsBackend();
  const threads = Math.floor(opts.threads ?? 1);
  if (!(threads >= 1)) throw new UserError(`threads must be a whole number >= 1, got ${opts.threads}: pass --threads 1 or more`);
  const make = (variant: WasmVariant) => (threads > 1
    ? new ThreadedWasmBackend(variant, threads, opts.initialBytes)
    : new WasmBackend(variant, opts.initialBytes));
  if (opts.relaxed) enableRelaxedSimd();
  let variant: WasmVariant;
  if (name === 'wasm') {
    if (!simdSupported()) return make('scalar');
    variant = relaxedSupported() ? 'relaxed' : 'simd';
  } else {
    variant = name.slice(5) as WasmVariant;
    if (variant === 'relaxed' && !relaxedSupported()) {
      throw new UserError('relaxed SIMD is not available in this Node: pass --relaxed, or run node with ' +
        '--experimental-wasm-relaxed-simd');
    }
  }
  return make(variant);
}

export type { Backend } from './backend.js';
export { TsBackend } from './ts.js';
export { WasmBackend } from './wasm.js';
export { ThreadedWasmBackend } from './threads/backend.js';
