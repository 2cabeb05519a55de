// A full garbage collection on demand. After loading, the decompressed dataset lives on in WASM
// memory only, but its JavaScript copy (55 MB for MNIST) stays resident until V8's next major GC,
// which a training loop (it allocates almost nothing in JavaScript) may not reach for minutes:
// collecting once after setup took the default run's peak RSS from 245 to 202 MB (measured).
// How is the host's business (src/platform/system.ts).
export { collectGarbage } from '../platform/system.js';
