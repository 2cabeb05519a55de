// Comparison with a framework: the same training steps on TensorFlow.js (its `cpu` backend,
// plain JavaScript, and its `wasm` backend, XNNPACK with SIMD) and on ours (wasm backend, 1 thread
// and all cores), measured in one run. Also the thread scaling of one big matmul.
//
//   W1  784-128-10      ReLU, batch 128, SGD lr 0.1
//   W2  784-512-256-10  ReLU, batch 128, Adam lr 1e-3
//   W3  conv8k5-relu-pool2-conv16k5-relu-pool2-dense10, input (B,1,28,28), batch 64, Adam lr 1e-3
//       (conv 1->8 5x5, relu, maxpool 2, conv 8->16 5x5, relu, maxpool 2, dense 256->10)
//
// Same architecture, batch, optimizer, fixed random inputs and the very same initial weights
// everywhere (our Model's He init, copied into TF.js), so both follow one trajectory
// (test/peers.test.ts checks the losses of the first steps agree). A step is forward, softmax cross-entropy, backward and the update,
// and reads the loss back (a number the training loop would print). TF.js runs its usual fastest
// path for hand-written models: variables, optimizer.minimize() inside tf.tidy, weights stored
// (I,O) so the forward matmul is untransposed (as tf.layers.dense stores them). Ours drives the
// project's Model (src/model/) on createBackend('wasm', { threads }).
// TF.js's model is built from the same parsed arch (tfForward); its images are NHWC, so conv
// weights are stored (KH,KW,C,OC) (ours: (OC,C,KH,KW)) and the dense layer after the last pool
// reads a (H,W,C) flatten (ours: (C,H,W)): its weight rows are permuted to match (tfWeights).
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
import { parseArch, type ModelSpec } from '../src/model/spec.js';
import { Rng } from '../src/util/rng.js';
import type { PeerRow } from './types.js';

export type { PeerRow } from './types.js';

/** MNIST's images and classes: every workload reads (B,1,28,28) inputs and has 10 classes. */
const DATA = { height: 28, width: 28, classes: 10 };
const PIXELS = DATA.height * DATA.width;
/** Steps of one 60k-image epoch at batch B. */
const epochSteps = (B: number) => Math.ceil(60000 / B);

export interface Workload {
  id: string;
  /** Our --arch string; TF.js's model is built from the same parsed spec. */
  arch: string;
  batch: number;
  optimizer: 'sgd' | 'adam';
  lr: number;
  /** Seconds per step of TF.js's cpu backend are seconds: time only a few steps of it. */
  slowCpu: boolean;
  /** A convolutional net: the note gives the per-epoch time. */
  cnn: boolean;
}

export const WORKLOADS: Workload[] = [
  { id: 'W1', arch: '784-128-10', batch: 128, optimizer: 'sgd', lr: 0.1, slowCpu: false, cnn: false },
  { id: 'W2', arch: '784-512-256-10', batch: 128, optimizer: 'adam', lr: 1e-3, slowCpu: true, cnn: false },
  { id: 'W3', arch: 'conv8k5-relu-pool2-conv16k5-relu-pool2-dense10', batch: 64, optimizer: 'adam', lr: 1e-3,
    slowCpu: true, cnn: true },
];

/** The parsed spec of w (ReLU after hidden layers, no dropout). */
function workloadSpec(w: Workload): ModelSpec {
  return parseArch(w.arch, { activation: 'relu', alpha: 0, dropout: 0 }, DATA);
}

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

/** Fixed inputs (B,1,28,28) and labels of a workload. */
function workloadData(w: Workload) {
  const rng = new Rng(1234);
  const B = w.batch;
  const x = new Float32Array(B * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = rng.float();
  const C = DATA.classes;
  const labels = Int32Array.from({ length: B }, () => rng.int(C));
  return { x, labels, C, B };
}

// ---- ours ----

/** Weights and biases of each parametric layer, in order, in our layout: dense W (O,I), conv W (OC,C,KH,KW). */
export type Weights = { W: Float32Array; b: Float32Array }[];

/**
 * One training step of workload w on backend be through the project's Model: step() returns the
 * mean loss of the batch before the update; weights() copies the current parameters.
 */
export function oursStep(be: Backend, w: Workload): { step: () => number; weights: () => Weights } {
  const { x: xs, labels: ls, C, B } = workloadData(w);
  const spec = workloadSpec(w);
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
  const weights = () => {
    const ws: Weights = [];
    for (let l = 1; model.param(`W${l}`); l++) {
      ws.push({ W: model.param(`W${l}`)!.value.slice(), b: model.param(`b${l}`)!.value.slice() });
    }
    return ws;
  };
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

/** One parameter pair in TF.js's layout: dense W (I,O), conv W (KH,KW,C,OC). */
export interface TfParam { W: Float32Array; shape: number[]; b: Float32Array }

/**
 * Our weights `init` for spec in TF.js's layout. Conv W (OC,C,KH,KW) -> (KH,KW,C,OC). Dense W
 * (O,I) -> (I,O), and when the dense layer reads an image (C,H,W) its input index c*H*W + h*W + w
 * (our channels-first flatten) becomes row (h*W + w)*C + c (TF.js's NHWC flatten).
 * permuteDense false leaves the rows in our order (wrong when C > 1: the test's negative control).
 */
export function tfWeights(spec: ModelSpec, init: Weights, permuteDense = true): TfParam[] {
  const out: TfParam[] = [];
  let [C, H, W] = spec.input;
  for (const l of spec.layers) {
    if (l.type === 'conv2d') {
      const OC = l.filters as number, K = l.kernel as number, s = l.stride as number, p = l.pad as number;
      const src = init[out.length].W;
      const dst = new Float32Array(src.length);
      for (let o = 0; o < OC; o++) for (let c = 0; c < C; c++) for (let y = 0; y < K; y++) {
        for (let x = 0; x < K; x++) dst[((y * K + x) * C + c) * OC + o] = src[((o * C + c) * K + y) * K + x];
      }
      out.push({ W: dst, shape: [K, K, C, OC], b: init[out.length].b });
      [C, H, W] = [OC, Math.floor((H + 2 * p - K) / s) + 1, Math.floor((W + 2 * p - K) / s) + 1];
    } else if (l.type === 'pool') {
      const k = l.size as number, s = l.stride as number;
      [H, W] = [Math.floor((H - k) / s) + 1, Math.floor((W - k) / s) + 1];
    } else if (l.type === 'dense') {
      const O = l.units as number, I = C * H * W, HW = H * W;
      const src = init[out.length].W;
      const dst = new Float32Array(I * O);
      for (let c = 0; c < C; c++) for (let q = 0; q < HW; q++) {
        const i = c * HW + q, row = permuteDense ? q * C + c : i;
        for (let o = 0; o < O; o++) dst[row * O + o] = src[o * I + i];
      }
      out.push({ W: dst, shape: [I, O], b: init[out.length].b });
      [C, H, W] = [O, 1, 1];
    }
  }
  return out;
}

/**
 * TF.js conv2d (NHWC x (KH,KW,C,OC), stride s, zero padding p) for backends without a
 * Conv2DBackpropFilter kernel (the wasm backend in 4.x has Conv2D and Conv2DBackpropInput but not
 * it, so tf.conv2d's gradient fails there): the same forward with a custom gradient. dx is
 * conv2dTranspose as in TF.js's own gradient (skipped for the input images, needDx false); the
 * filter gradient dW[kh,kw,c,oc] = sum over b,y,x of X[b, y*s+kh-p, x*s+kw-p, c] dY[b,y,x,oc] is
 * one more conv2d on the backend's fast kernel with batch and channels swapped:
 * X^T (C,H,W,B) conv dY^T (OH,OW,B,OC), dilation s, padding p -> (C,KH',KW',OC), cut to KH x KW.
 */
function tfConv2dCustomGrad(tf: Tf, s: number, p: number, needDx: boolean) {
  type T4 = import('@tensorflow/tfjs').Tensor4D;
  const pad = p === 0 ? 'valid' as const : p;
  return tf.customGrad((x, f, save) => {
    (save as import('@tensorflow/tfjs').GradSaveFunc)([x as T4, f as T4]);
    const value = tf.conv2d(x as T4, f as T4, s, pad);
    const gradFunc = (dy: import('@tensorflow/tfjs').Tensor, saved: import('@tensorflow/tfjs').Tensor[]) => {
      const [xs, fs] = saved as T4[];
      const [KH, KW] = fs.shape;
      const dx = needDx
        ? tf.conv2dTranspose(dy as T4, fs, xs.shape, s, pad)
        : tf.zerosLike(xs);
      let dw = tf.conv2d(tf.transpose(xs, [3, 1, 2, 0]), tf.transpose(dy as T4, [1, 2, 0, 3]), 1, pad, 'NHWC', s);
      if (dw.shape[1] !== KH || dw.shape[2] !== KW) dw = tf.slice(dw, [0, 0, 0, 0], [-1, KH, KW, -1]);
      return [dx, tf.transpose(dw, [1, 2, 0, 3])];
    };
    return { value, gradFunc };
  });
}

/**
 * One TF.js training step of w on the current TF.js backend, from our initial weights `init`
 * (converted by tfWeights). step() returns the mean loss before the update; free() releases the
 * tensors. The model is spec's layers as TF.js ops in NHWC: conv2d + bias, maxPool/avgPool,
 * activations, and matMul + bias (after a flatten when the input is an image).
 */
export function tfStep(tf: Tf, w: Workload, init: Weights, opts: { permuteDense?: boolean } = {}):
  { step: () => number; free: () => void } {
  type T = import('@tensorflow/tfjs').Tensor;
  type T4 = import('@tensorflow/tfjs').Tensor4D;
  const { x: xs, labels: ls, C, B } = workloadData(w);
  const spec = workloadSpec(w);
  const params = tfWeights(spec, init, opts.permuteDense ?? true);
  const vars: import('@tensorflow/tfjs').Variable[] = [];
  for (const p of params) vars.push(tf.variable(tf.tensor(p.W, p.shape)), tf.variable(tf.tensor1d(p.b)));
  // (B,1,28,28) and (B,28,28,1) are the same memory; an MLP reads it flat (B,784).
  const [IC, IH, IW] = spec.input;
  const x = spec.layers[0].type === 'dense' ? tf.tensor2d(xs, [B, IC * IH * IW]) : tf.tensor4d(xs, [B, IH, IW, IC]);
  const y = tf.oneHot(tf.tensor1d(ls, 'int32'), C).toFloat();
  const opt = w.optimizer === 'sgd' ? tf.train.sgd(w.lr) : tf.train.adam(w.lr, 0.9, 0.999, 1e-8);
  // TF.js's own conv2d where the backend has its filter gradient, else the custom-gradient twin.
  const builtin = tf.getKernel('Conv2DBackpropFilter', tf.getBackend()) !== undefined;
  const convs = spec.layers.filter((l) => l.type === 'conv2d').map((l) => builtin
    ? (a: T, f: T) => tf.conv2d(a as T4, f as T4, l.stride as number, l.pad === 0 ? 'valid' : l.pad as number)
    : tfConv2dCustomGrad(tf, l.stride as number, l.pad as number, spec.layers[0] !== l));
  const lossFn = () => {
    let h: T = x;
    let v = 0, c = 0;
    for (const l of spec.layers) {
      if (l.type === 'conv2d') {
        h = tf.add(convs[c++](h, vars[v]), vars[v + 1]);
        v += 2;
      } else if (l.type === 'pool') {
        const k = l.size as number, s = l.stride as number;
        h = l.mode === 'max' ? tf.maxPool(h as T4, k, s, 'valid') : tf.avgPool(h as T4, k, s, 'valid');
      } else if (l.type === 'dense') {
        if (h.rank > 2) h = tf.reshape(h, [B, -1]);
        h = tf.add(tf.matMul(h as import('@tensorflow/tfjs').Tensor2D, vars[v] as import('@tensorflow/tfjs').Tensor2D), vars[v + 1]);
        v += 2;
      } else if (l.type === 'activation') {
        h = l.fn === 'relu' ? tf.relu(h) : l.fn === 'leaky_relu' ? tf.leakyRelu(h, l.alpha as number)
          : l.fn === 'sigmoid' ? tf.sigmoid(h) : tf.tanh(h);
      } else {
        throw new Error(`peers: no TF.js twin for layer type '${l.type}'`);
      }
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

/** Measures W1, W2 and W3 on TF.js cpu and wasm and on ours (1 thread and all cores), plus matmul 1024^3. */
export async function runPeers(opts: { quick: boolean }): Promise<PeerRow[]> {
  const quick = opts.quick;
  const cores = availableParallelism();
  const threadCounts = cores > 1 ? [1, cores] : [1];
  const tf = await loadTf();
  const rows: PeerRow[] = [];

  for (const w of WORKLOADS) {
    const name = `train step ${w.id} ${w.cnn ? 'cnn c8k5-c16k5-10' : w.arch} B${w.batch} ${w.optimizer}`;
    // Per-epoch equivalent (60k images) of a step time: the issues state epoch targets.
    const epoch = (t: Stats) => {
      const s = t.median * epochSteps(w.batch);
      return `; ${s.toFixed(s < 10 ? 2 : 1)} s/epoch (${epochSteps(w.batch)} steps)`;
    };
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
          (threads > 1 ? `; ${fmtX(ours[0].t.median / t.median)} vs 1 thread` : '') + epoch(t) });
      dispose(be);
    }
    const best = ours.reduce((a, b) => (b.t.median < a.t.median ? b : a));
    for (const backend of ['wasm', 'cpu'] as const) {
      await tf.setBackend(backend);
      await tf.ready();
      const { step, free } = tfStep(tf, w, init!);
      const slow = backend === 'cpu' && w.slowCpu;
      // TF.js cpu: W2 ~0.5-1 s/step, the CNN ~5 s/step (its conv backprop is plain loops).
      const plan: Plan = slow && w.cnn
        ? { warm: 1, steps: quick ? 1 : 3, min: quick ? 1 : 3, budgetMs: 0 }
        : slow
          ? { warm: 1, steps: quick ? 3 : 8, min: 3, budgetMs: quick ? 0 : 10000 }
          : { warm: 3, steps: quick ? 10 : 40, min: 5, budgetMs: quick ? 1500 : 6000 };
      const t = timeSteps(step, plan);
      free();
      rows.push({ peer: `tfjs-${backend}`, case: name, median: t.median, min: t.min, max: t.max,
        note: `${t.samples} step${t.samples > 1 ? 's' : ''}; ours-1t ${fmtX(t.median / ours[0].t.median)} faster` +
          (best.threads > 1 ? `, ours-${best.threads}t ${fmtX(t.median / best.t.median)} faster` : '') + epoch(t) });
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
  const args = process.argv.slice(2);
  const bad = args.find((s) => !['--quick', '--relaxed', '--help', '-h'].includes(s));
  if (bad !== undefined || args.includes('--help') || args.includes('-h')) {
    if (bad !== undefined) console.error(`unknown option '${bad}'`);
    console.log('usage: node dist/bench/peers.js [--quick] [--relaxed]\n' +
      'Trains W1, W2 and W3 on ours (1 and 2 threads) and TensorFlow.js (wasm, cpu) and prints ms/step,\n' +
      's/epoch and the ratios, all from this one run (a few minutes; --quick: fewer steps).');
    process.exit(bad === undefined ? 0 : 2);
  }
  const quick = args.includes('--quick');
  if (args.includes('--relaxed')) enableRelaxedSimd();
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
