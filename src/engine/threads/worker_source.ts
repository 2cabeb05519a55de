// The body of every pool worker, as plain JavaScript: a Node worker_thread or a Web Worker runs it
// with `workerData` in scope (src/platform/system.ts starts it either way).
// A string rather than a .js file so that the same code runs under vitest (TypeScript sources,
// no build) and from dist/ (compiled), with no file to copy or resolve; it needs no import of ours.
//
// What it does: instantiate the compiled kernel module on the one shared memory, count READY,
// then loop: spin briefly (LAYOUT.SPIN_MS), then sleep in Atomics.wait on SEQ; when woken, take
// chunks of the current call (compareExchange on CLAIM) until none is left, run each, count DONE
// and wake the main thread after the last chunk. A failing kernel leaves its message in the
// worker's slot. If instantiation fails the worker reports it and never takes a chunk, so the
// calls still finish (on the other threads).
import { LAYOUT } from './layout.js';

/** JavaScript body of a pool worker (reads its slot from `workerData`, which the host defines). */
export const WORKER_SOURCE = `
const L = ${JSON.stringify(LAYOUT)};
const { module, memory, names, control, slot } = workerData;
const I = new Int32Array(control);
const F = new Float64Array(control);
const U8 = new Uint8Array(control);
const slotByte = L.HEADER_BYTES + slot * L.SLOT_BYTES;
const status = (slotByte >> 2) + L.STATUS;

function report(code, text) {
  const bytes = new TextEncoder().encode(String(text)).subarray(0, L.MSG_BYTES);
  U8.set(bytes, slotByte + L.MSG_OFFSET);
  I[(slotByte >> 2) + L.MSGLEN] = bytes.length;
  Atomics.store(I, status, code);
}

let fns = null;
try {
  const imports = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    imports[imp.module] = imports[imp.module] || {};
    if (imp.kind === 'memory') imports[imp.module][imp.name] = memory;
    else if (imp.kind === 'function') {
      imports[imp.module][imp.name] = () => { throw new Error('kernel called host import ' + imp.name); };
    }
  }
  const exports = new WebAssembly.Instance(module, imports).exports;
  fns = names.map((n) => exports[n]);
} catch (e) {
  report(2, 'could not start: ' + (e && e.stack || e));
}
Atomics.add(I, L.READY, 1);
Atomics.notify(I, L.READY);

const args = [];
function runChunk(c) {
  const n = I[L.NARGS];
  const s = c * I[L.CHUNK_LEN];
  const e = Math.min(I[L.TOTAL], s + I[L.CHUNK_LEN]);
  args.length = n;
  for (let i = 0; i < n; i++) args[i] = F[L.BASE + i] + s * F[L.COEF + i];
  args[I[L.COUNT_ARG]] = e - s;
  const wa = I[L.WRAP_ARG];
  if (wa >= 0) args[wa] = (F[L.BASE + wa] + Math.imul(s, F[L.COEF + wa])) >>> 0;
  if (I[L.SCRATCH_ARG] >= 0) args[I[L.SCRATCH_ARG]] = F[(slotByte >> 3) + L.SCRATCH];
  try {
    fns[I[L.FN]].apply(null, args);
  } catch (err) {
    report(1, err && err.name ? err.name + ': ' + err.message : String(err));
  }
}

let seen = 0;
for (;;) {
  // Spin a moment before sleeping: a training step makes its split calls a few to a few hundred
  // microseconds apart, and waking from Atomics.wait costs tens of microseconds.
  const until = performance.now() + L.SPIN_MS;
  while (Atomics.load(I, L.SEQ) === seen && performance.now() < until) { /* spin */ }
  Atomics.wait(I, L.SEQ, seen);
  seen = Atomics.load(I, L.SEQ);
  if (Atomics.load(I, L.STOP)) break;
  if (fns === null) continue;
  for (;;) {
    const t = Atomics.load(I, L.CLAIM);
    const next = (t >>> 8) & 255, count = t & 255;
    if (next >= count) break;
    if (Atomics.compareExchange(I, L.CLAIM, t, t + 256) !== t) continue;
    // The chunk is ours: the call cannot finish (nor the header change) before we count it done.
    runChunk(next);
    if (Atomics.add(I, L.DONE, 1) + 1 === count) Atomics.notify(I, L.DONE);
  }
}
`;
