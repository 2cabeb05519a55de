// Picks a backend: `wasm` (SIMD; relaxed SIMD when the runtime has it) or `ts` (the reference).
import type { Backend } from './backend.js';
import { TsBackend } from './ts.js';
import { WasmBackend, relaxedSupported, simdSupported, enableRelaxedSimd, type WasmVariant } from './wasm.js';

export type BackendName = 'wasm' | 'ts' | 'wasm-simd' | 'wasm-relaxed' | 'wasm-scalar';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'ts', 'wasm-simd', 'wasm-relaxed', 'wasm-scalar'];

export interface BackendOptions {
  /** Turn on V8's relaxed SIMD (Node 20 flag) and use the relaxed build when it validates. */
  relaxed?: boolean;
  /** Initial WASM memory in bytes (it grows on demand). */
  initialBytes?: number;
  /** Worker threads for the big kernels (default 1 until the thread pool lands). */
  threads?: number;
}

export function createBackend(name: BackendName = 'wasm', opts: BackendOptions = {}): Backend {
  if (name === 'ts') return new TsBackend();
  if (opts.relaxed) enableRelaxedSimd();
  let variant: WasmVariant;
  if (name === 'wasm') {
    if (!simdSupported()) return new WasmBackend('scalar', opts.initialBytes);
    variant = relaxedSupported() ? 'relaxed' : 'simd';
  } else {
    variant = name.slice(5) as WasmVariant;
    if (variant === 'relaxed' && !relaxedSupported()) {
      throw new Error('relaxed SIMD is not available in this Node: pass --relaxed, or run node with ' +
        '--experimental-wasm-relaxed-simd');
    }
  }
  return new WasmBackend(variant, opts.initialBytes);
}

export type { Backend } from './backend.js';
export { TsBackend } from './ts.js';
export { WasmBackend } from './wasm.js';
