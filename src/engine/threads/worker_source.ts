// The body of every pool worker, as plain JavaScript run with `new Worker(code, { eval: true })`.
// A string rather than a .js file so that the same code runs under vitest (TypeScript sources,
// no build) and from dist/ (compiled), with no file to copy or resolve; it needs no import of ours.
//
// What it does: instantiate the compiled kernel module on the one shared memory, then loop:
// sleep in Atomics.wait on its slot's SEQ word, run the kernel named by FN with the f64 arguments,
// record a failure (message in the slot), count PENDING down and wake the main thread when it was
// the last. It never exits by itself: if instantiation fails it answers every command with that
// error, so the main thread never waits on a worker that cannot run.
import { LAYOUT } from './layout.js';

/** JavaScript source of a pool worker (CommonJS script; reads its slot from workerData). */
export const WORKER_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
const L = ${JSON.stringify(LAYOUT)};
const { module, memory, names, control, slot } = workerData;
const I = new Int32Array(control);
const F = new Float64Array(control);
const U8 = new Uint8Array(control);
const base = (L.HEADER_BYTES + slot * L.SLOT_BYTES) >> 2;
const argBase = (L.HEADER_BYTES + slot * L.SLOT_BYTES + L.ARGS_OFFSET) >> 3;
const msgBase = L.HEADER_BYTES + slot * L.SLOT_BYTES + L.MSG_OFFSET;

function report(status, text) {
  const bytes = Buffer.from(String(text), 'utf8').subarray(0, L.MSG_BYTES);
  U8.set(bytes, msgBase);
  I[base + L.MSGLEN] = bytes.length;
  I[base + L.STATUS] = status;
}

let fns = null;
let initError = null;
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
  initError = 'could not start: ' + (e && e.stack || e);
}
Atomics.store(I, base + L.READY, 1);

const args = [];
let seq = 0;
for (;;) {
  Atomics.wait(I, base + L.SEQ, seq);
  const s = Atomics.load(I, base + L.SEQ);
  if (s === seq) continue;
  seq = s;
  const fn = I[base + L.FN];
  if (fn < 0) break;
  if (initError !== null) {
    report(2, initError);
  } else {
    const n = I[base + L.NARGS];
    args.length = n;
    for (let i = 0; i < n; i++) args[i] = F[argBase + i];
    try {
      fns[fn].apply(null, args);
    } catch (e) {
      report(1, (e && e.name ? e.name + ': ' + e.message : String(e)));
    }
  }
  if (Atomics.sub(I, L.PENDING, 1) === 1) Atomics.notify(I, L.PENDING);
}
`;
