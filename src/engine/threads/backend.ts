// The wasm backend on `threads` threads, constructed with the thread count first. WasmBackend
// itself serves any thread count; this name stays for the callers and tests that use it.
import { WasmBackend, type WasmVariant } from '../wasm.js';
import type { ThreadPool } from './pool.js';

export class ThreadedWasmBackend extends WasmBackend {
  declare readonly pool: ThreadPool;

  constructor(variant: WasmVariant = 'simd', threads = 2, initialBytes?: number) {
    super(variant, initialBytes, Math.max(2, threads));
  }
}
