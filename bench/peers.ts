// Comparison with a framework: the same MLP training steps on TensorFlow.js (its `cpu` backend,
// plain JavaScript, and its `wasm` backend, XNNPACK with SIMD) and on ours (wasm backend, 1 thread
// and all cores), measured in one run. Also the thread scaling of one big matmul.
//
//   W1  784-128-10      ReLU, batch 128, SGD lr 0.1
//   W2  784-512-256-10  ReLU, batch 128, Adam lr 1e-3
//
// Same architecture, batch, optimizer, fixed random inputs and the very same initial weights
// everywhere (our Model's He init, copied into TF.js), so both follow one trajectory
// (test/peers.test.ts checks the losses of the first steps agree). A step is forward, softmax cross-entropy, backward and the update,
// and reads the loss back (a number the training loop would print). TF.js runs its usual fastest
// path for hand-written models: variables, optimizer.minimize() inside tf.tidy, weights stored
// (I,O) so the forward matmul is untransposed (as tf.layers.dense stores them). Ours drives the
// project's Model (src/model/) on createBackend('wasm', { threads }).
//
// ms/step is the median over timed steps after warm-up steps. `npm run bench -- --peers` calls
// runPeers(); `node dist/bench/peers.js [--quick] [--relaxed]` runs it alone and prints the table
// (--relaxed turns on relaxed SIMD, as the bench does, so ours uses the FMA build).
import { availableParallelism, cpus, loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Backend, OptimizerStep } from '../src/engine/backend.js';
import { createBackend } from '../src/engine/index.js';
import { enableRelaxedSimd } from '../src/engine/wasm.js';
import { Model } from '../src/model/model.js';
import { parseArch } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';
import type { PeerRow } from './types.js';

export type { PeerRow } from './types.js';

const B = 128;

export interface Workload {
  id: string;
  arch: string;
  dims: number[];
  optimizer: 'sgd' | 'adam';
  lr: number;
}

export const WORKLOADS: Workload[] = [
  { id: 'W1', arch: '784-128-10', dims: [784, 128, 10], optimizer: 'sgd', lr: 0.1 },
  { id: 'W2', arch: '784-512-256-10', dims: [784, 512, 256, 10], optimizer: 'adam', lr: 1e-3 },
];

/** Steps to run: warm-up, then timed ones, stopping early once budgetMs is spent (at least min). */
interface Plan { warm: number; steps: number; min: number; budgetMs: number }

interface Stats { median: number; min: number; max: number; samples: number }

/** Median / min / max seconds per call of step() under plan. */
function timeSteps(step: () => void, plan: Plan): Stats {
  for (let i = 0; i < plan.warm; i++) step();
  const t: number[] = [];
  const t0 = performance.now();
  while (t.length < plan.steps && (t.length < plan.min || performance.now() - t0 < plan.budgetMs)) {
    const s = performance.now();
    step();
    t.push((performance.now() - s) / 1e3);
  }
  t.sort((a, b) => a - b);
  const mid = t.length >> 1;
  return { median: t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2, min: t[0], max: t[t.length - 1], samples: t.length };
}

/** Fixed inputs and labels of a workload. */
function workloadData(w: Workload) {
  const rng = new Rng(1234);
  const x = new Float32Array(B * w.dims[0]);
  for (let i = 0; i < x.length; i++) x[i] = rng.float();
  const C = w.dims[w.dims.length - 1];
  const labels = Int32Array.from({ length: B }, () => rng.int(C));
  return { x, labels, C };
}

// ---- ours ----

/** Weights (O,I) and biases (O) of each dense layer, in order. */
export type Weights = { W: Float32Array; b: Float32Array }[];

/**
 * One training step of workload w on backend be through the project's Model: step() returns the
 * mean loss of the batch before the update; weights() copies the current parameters.
 */
export function oursStep(be: Backend, w: Workload): { step: () => number; weights: () => Weights } {
  const { x: xs, labels: ls, C } = workloadData(w);
  const spec = parseArch(w.arch, { activation: 'relu', alpha: 0, dropout: 0 }, { height: 28, width: 28, classes: C });
  const model = new Model(be, spec, B);
  model.init(new Rng(7), 'he');
  const x = be.f32(xs.length), labels = be.i32(B), dlogits = be.f32(B * C);
  x.set(xs);
  labels.set(ls);
  const N = model.params.length;
  const m = be.f32(N), v = be.f32(N);
  const h: OptimizerStep = { kind: w.optimizer, lr: w.lr, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8,
    weightDecay: 0, step: 0 };
  const ctx = { training: true, rng: new Rng(8) };
  const step = () => {
    model.zeroGrad();
    const logits = model.forward(x, B, ctx);
    const loss = be.softmaxCrossEntropy(dlogits, logits, labels, B, C) / B;
    model.backward(dlogits, B);
    h.step++;
    be.optimizerStep(model.params, model.grads, m, v, N, h);
    return loss;
  };
  const weights = () => w.dims.slice(1).map((_, l) => ({
    W: model.param(`W${l + 1}`)!.value.slice(), b: model.param(`b${l + 1}`)!.value.slice(),
  }));
  return { step, weights };
}

function dispose(be: Backend): void {
  (be as { dispose?: () => void }).dispose?.();
}

// ---- TensorFlow.js ----

export type Tf = typeof import('@tensorflow/tfjs');
let tfLoaded: Promise<Tf> | null = null;

/** Loads TF.js once, with the wasm backend's .wasm files taken from node_modules (offline). */
export function loadTf(): Promise<Tf> {
  tfLoaded ??= (async () => {
    const tf = await import('@tensorflow/tfjs');
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
    wasm.setWasmPaths(join(dir, 'dist') + '/');
    // Production mode: no debug checks, and no "install tfjs-node" banner.
    tf.enableProdMode();
    return tf;
  })();
  return tfLoaded;
}

/**
 * One TF.js training step of w on the current TF.js backend, from the initial weights `init`
 * (stored (I,O) on the TF.js side, transposed from ours). step() returns the mean loss before the
 * update; free() releases the tensors.
 */
export function tfStep(tf: Tf, w: Workload, init: Weights): { step: () => number; free: () => void } {
  const { x: xs, labels: ls, C } = workloadData(w);
  const vars: import('@tensorflow/tfjs').Variable[] = [];
  const L = w.dims.length - 1;
  for (let l = 0; l < L; l++) {
    const I = w.dims[l], O = w.dims[l + 1];
    const W = new Float32Array(I * O);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) W[i * O + o] = init[l].W[o * I + i];
    vars.push(tf.variable(tf.tensor2d(W, [I, O])), tf.variable(tf.tensor1d(init[l].b)));
  }
  const x = tf.tensor2d(xs, [B, w.dims[0]]);
  const y = tf.oneHot(tf.tensor1d(ls, 'int32'), C).toFloat();
  const opt = w.optimizer === 'sgd' ? tf.train.sgd(w.lr) : tf.train.adam(w.lr, 0.9, 0.999, 1e-8);
  const lossFn = () => {
    let h: import('@tensorflow/tfjs').Tensor2D = x;
    for (let l = 0; l < L; l++) {
      h = tf.add(tf.matMul(h, vars[2 * l] as import('@tensorflow/tfjs').Tensor2D), vars[2 * l + 1]);
      if (l < L - 1) h = tf.relu(h);
    }
    return tf.losses.softmaxCrossEntropy(y, h) as import('@tensorflow/tfjs').Scalar;
  };
  const step = () => tf.tidy(() => {
    const cost = opt.minimize(lossFn, true, vars)!;
    return cost.dataSync()[0];
  });
  const free = () => {
    opt.dispose();
    tf.dispose([x, y, ...vars]);
  };
  return { step, free };
}

/** A TF.js matmul (M,K)x(K,N) that reads its result back. */
function tfMatmul(tf: Tf, M: number, N: number, K: number): { step: () => void; free: () => void } {
  const rng = new Rng(5);
  const a = tf.tensor2d(Float32Array.from({ length: M * K }, () => rng.float() - 0.5), [M, K]);
  const b = tf.tensor2d(Float32Array.from({ length: K * N }, () => rng.float() - 0.5), [K, N]);
  return {
    step: () => { tf.tidy(() => { tf.matMul(a, b).dataSync(); }); },
    free: () => tf.dispose([a, b]),
  };
}

// ---- the comparison ----

/** Measures W1 and W2 on TF.js cpu and wasm and on ours (1 thread and all cores), plus matmul 1024^3. */
export async function runPeers(opts: { quick: boolean }): Promise<PeerRow[]> {
  const quick = opts.quick;
  const cores = availableParallelism();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const tf = await loadTf();
  const rows: PeerRow[] = [];

  for (const w of WORKLOADS) {
    const name = `train step ${w.id} ${w.arch} B${B} ${w.optimizer}`;
    const big = w.id === 'W2';
    const ours: { threads: number; t: Stats }[] = [];
    let init: Weights | null = null;
    for (const threads of threadCounts) {
      const be = createBackend('wasm', { threads });
      const { step, weights } = oursStep(be, w);
      init ??= weights();
      const t = timeSteps(step, { warm: 5, steps: quick ? 20 : 100, min: 5, budgetMs: quick ? 1000 : 5000 });
      ours.push({ threads, t });
      rows.push({ peer: `ours-${threads}t`, case: name, median: t.median, min: t.min, max: t.max,
        note: `${be.name}, ${threads} thread${threads > 1 ? 's' : ''}, ${t.samples} steps` +
          (threads > 1 ? `; ${fmtX(ours[0].t.median / t.median)} vs 1 thread` : '') });
      dispose(be);
    }
    const best = ours.reduce((a, b) => (b.t.median < a.t.median ? b : a));
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      await tf.ready();
      const { step, free } = tfStep(tf, w, init!);
      const slow = backend === 'cpu' && big;
      const plan: Plan = slow
        ? { warm: 1, steps: quick ? 3 : 8, min: 3, budgetMs: quick ? 0 : 10000 }
        : { warm: 3, steps: quick ? 10 : 40, min: 5, budgetMs: quick ? 1500 : 6000 };
      const t = timeSteps(step, plan);
      free();
      rows.push({ peer: `tfjs-${backend}`, case: name, median: t.median, min: t.min, max: t.max,
        note: `${t.samples} steps; ours-1t ${fmtX(t.median / ours[0].t.median)} faster` +
          (best.threads > 1 ? `, ours-${best.threads}t ${fmtX(t.median / best.t.median)} faster` : '') });
    }
  }

  // Thread scaling of one big matmul, and TF.js's wasm backend on the same product.
  const n = 1024;
  const flop = 2 * n * n * n;
  const name = `gemm ${n}x${n}x${n}`;
  const gm: Stats[] = [];
  for (const threads of threadCounts) {
    const be = createBackend('wasm', { threads });
    const rng = new Rng(5);
    const a = be.f32(n * n), b = be.f32(n * n), c = be.f32(n * n);
    for (let i = 0; i < a.length; i++) { a[i] = rng.float() - 0.5; b[i] = rng.float() - 0.5; }
    const t = timeSteps(() => be.gemm(c, a, b, null, n, n, n, false, false, false),
      { warm: 2, steps: quick ? 5 : 20, min: 3, budgetMs: quick ? 1500 : 5000 });
    gm.push(t);
    rows.push({ peer: `ours-${threads}t`, case: name, median: t.median, min: t.min, max: t.max, gflops: flop / t.median / 1e9,
      note: `${be.name}` + (threads > 1 ? `; ${fmtX(gm[0].median / t.median)} vs 1 thread` : '') });
    dispose(be);
  }
  await tf.setBackend('wasm');
  await tf.ready();
  const mm = tfMatmul(tf, n, n, n);
  const t = timeSteps(mm.step, { warm: 2, steps: quick ? 5 : 20, min: 3, budgetMs: quick ? 1500 : 5000 });
  mm.free();
  const bestG = Math.min(...gm.map((g) => g.median));
  rows.push({ peer: 'tfjs-wasm', case: name, median: t.median, min: t.min, max: t.max, gflops: flop / t.median / 1e9,
    note: `ours ${fmtX(t.median / bestG)} faster` });
  return rows;
}

function fmtX(x: number): string {
  return `${x >= 100 ? x.toFixed(0) : x.toFixed(x >= 10 ? 1 : 2)}x`;
}

function fmtMs(s: number | undefined): string {
  return s === undefined ? '-' : (s * 1e3).toFixed(s < 0.01 ? 3 : s < 1 ? 2 : 0);
}

/** The rows as a plain table (ms per step). */
export function formatPeers(rows: PeerRow[]): string {
  const head = `${'case'.padEnd(40)} ${'engine'.padEnd(10)} ${'median ms'.padStart(10)} ${'min ms'.padStart(9)} ` +
    `${'max ms'.padStart(9)} ${'GFLOP/s'.padStart(8)}  note`;
  const lines = rows.map((r) => `${r.case.padEnd(40)} ${r.peer.padEnd(10)} ${fmtMs(r.median).padStart(10)} ` +
    `${fmtMs(r.min).padStart(9)} ${fmtMs(r.max).padStart(9)} ${(r.gflops === undefined ? '-' : r.gflops.toFixed(1)).padStart(8)}` +
    `  ${r.note ?? ''}`);
  return [head, '-'.repeat(head.length + 30), ...lines].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  if (process.argv.includes('--relaxed')) enableRelaxedSimd();
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`peers${quick ? ' --quick' : ''}: Node ${process.version}, ${cpus()[0]?.model ?? '?'}, ` +
    `${availableParallelism()} cores, load average ${load}`);
  runPeers({ quick }).then((rows) => {
    console.log(formatPeers(rows));
    console.log(`load average after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  }, (e) => {
    console.error(e);
    process.exit(1);
  });
}
