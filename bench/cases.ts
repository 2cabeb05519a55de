// What the benchmark runs: every kernel of the Backend interface at the sizes an MNIST MLP uses
// (batch 128, hidden layers of 128-512 units, a 101,770-float parameter arena), plus 1024^3 gemm.
// Cases are written against the Backend interface only, so a kernel that has not landed yet in
// assembly/ shows up as "missing" instead of stopping the run.
import type { Backend, OptimizerKind, OptimizerStep } from '../src/engine/backend.js';
import { ACTIVATION_SAVES, ACTIVATIONS } from '../src/engine/backend.js';
import { activationForward as refActivationForward } from '../src/engine/ref/activation.js';
import { Rng } from '../src/util/rng.js';
import type { Case, Instance } from './types.js';
import { randF32 } from './rand.js';
import { elementwiseCases } from './elementwise.js';
import { stepCases, type ModelLib } from './step.js';
import { sparseCases } from './sparse.js';
import { convCases } from './conv.js';

/** n seeded integers in [0, k) in be's memory. */
function randI32(be: Backend, n: number, seed: number, k: number): Int32Array {
  const rng = new Rng(seed);
  const a = be.i32(n);
  for (let i = 0; i < n; i++) a[i] = rng.int(k);
  return a;
}

const B = 128;
/** Element count of the element-wise cases: one 128x512 activation. */
const NELEM = B * 512;
/** Parameters of 784-128-10: W1, b1, W2, b2. */
const NPARAMS = 784 * 128 + 128 + 128 * 10 + 10;

/** ts-fast only replaces gemm; other kernels would time the reference twice. */
const gemmOnlyFast = (be: string) => (be === 'ts-fast' ? 'same as ts-ref outside gemm' : null);

type GemmForm = 'nn' | 'fwd' | 'dW' | 'dx';

/**
 * gemm at (M,K,N). nn: plain C = A B. The dense-layer forms with batch B, inputs I, outputs O:
 * fwd out(B,O) = x W^T + b (transB, bias); dW(O,I) += dout^T x (transA, accumulate);
 * dx(B,I) = dout W (no transpose).
 */
function gemmCase(form: GemmForm, M: number, K: number, N: number): Case {
  const transA = form === 'dW', transB = form === 'fwd';
  const withBias = form === 'fwd', accumulate = form === 'dW';
  const what = { nn: '', fwd: ' (x.W^T+b)', dW: ' (dout^T.x, +=)', dx: ' (dout.W)' }[form];
  return {
    group: 'matmul',
    name: `gemm ${form} ${M}x${K}x${N}${what}`,
    flops: 2 * M * N * K,
    atol: 2e-6 * K, rtol: 1e-5,
    setup(be): Instance {
      const seed = M * 7919 + K * 104729 + N;
      const a = randF32(be, M * K, seed), b = randF32(be, K * N, seed + 1);
      const bias = withBias ? randF32(be, N, seed + 2) : null;
      const c = accumulate ? randF32(be, M * N, seed + 3) : be.f32(M * N);
      return { run: () => be.gemm(c, a, b, bias, M, N, K, transA, transB, accumulate), outputs: () => [c.slice()] };
    },
  };
}

function biasBackwardCase(Bn: number, O: number): Case {
  return {
    group: 'matmul', name: `bias_backward ${Bn}x${O}`, atol: 1e-5, rtol: 1e-5, skip: gemmOnlyFast,
    setup(be) {
      const dout = randF32(be, Bn * O, 11), dbias = be.f32(O);
      return { run: () => be.biasBackward(dbias, dout, Bn, O), outputs: () => [dbias.slice()] };
    },
  };
}

function activationCases(): Case[] {
  const out: Case[] = [];
  for (const kind of ACTIVATIONS) {
    out.push({
      group: 'activation', name: `${kind} forward ${B}x512`, atol: 1e-6, rtol: 1e-5, skip: gemmOnlyFast,
      setup(be) {
        const x = randF32(be, NELEM, 21, -4, 4), y = be.f32(NELEM);
        return { run: () => be.activationForward(kind, y, x, NELEM, 0.01), outputs: () => [y.slice()] };
      },
    });
    out.push({
      group: 'activation', name: `${kind} backward ${B}x512`, atol: 1e-6, rtol: 1e-5, skip: gemmOnlyFast,
      setup(be) {
        // The backward reads the forward's output or input: make a real output with the reference.
        const x = randF32(be, NELEM, 22, -4, 4), y = be.f32(NELEM), dy = randF32(be, NELEM, 23), dx = be.f32(NELEM);
        refActivationForward(kind, y, x, NELEM, 0.01);
        const saved = ACTIVATION_SAVES[kind] === 'input' ? x : y;
        return { run: () => be.activationBackward(kind, dx, dy, saved, NELEM, 0.01), outputs: () => [dx.slice()] };
      },
    });
  }
  return out;
}

function lossCases(): Case[] {
  const C = 10;
  const inputs = (be: Backend) => ({
    logits: randF32(be, B * C, 31, -5, 5), labels: randI32(be, B, 32, C), out: be.f32(B * C),
  });
  return [
    {
      group: 'loss', name: `softmax forward ${B}x${C}`, atol: 1e-7, rtol: 1e-5, skip: gemmOnlyFast,
      setup(be) {
        const { logits, out } = inputs(be);
        return { run: () => be.softmaxForward(out, logits, B, C), outputs: () => [out.slice()] };
      },
    },
    {
      group: 'loss', name: `softmax-CE + dlogits ${B}x${C}`, atol: 1e-6, rtol: 1e-5, skip: gemmOnlyFast,
      setup(be) {
        const { logits, labels, out } = inputs(be);
        let loss = 0;
        return {
          run: () => { loss = be.softmaxCrossEntropy(out, logits, labels, B, C); },
          outputs: () => [out.slice(), [loss]],
        };
      },
    },
    {
      group: 'loss', name: `count_correct ${B}x${C}`, atol: 0, rtol: 0, skip: gemmOnlyFast,
      setup(be) {
        const { logits, labels } = inputs(be);
        let n = 0;
        return { run: () => { n = be.countCorrect(logits, labels, B, C); }, outputs: () => [[n]] };
      },
    },
  ];
}

function optimizerCase(kind: OptimizerKind): Case {
  return {
    group: 'optimizer', name: `${kind} step ${NPARAMS} params`, atol: 1e-6, rtol: 1e-5, skip: gemmOnlyFast,
    setup(be) {
      const w = randF32(be, NPARAMS, 41), g = randF32(be, NPARAMS, 42, -0.1, 0.1);
      const m = be.f32(NPARAMS), v = be.f32(NPARAMS);
      const h: OptimizerStep = {
        kind, lr: 0.001, momentum: 0.9, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1,
      };
      return { run: () => be.optimizerStep(w, g, m, v, NPARAMS, h), outputs: () => [w.slice(), m.slice(), v.slice()] };
    },
  };
}

function gatherCase(): Case {
  // A training step's gather: 128 shuffled rows of an MNIST-sized set (47 MB, beyond the caches),
  // a new batch every call as in an epoch, so the timing includes the cache misses.
  const D = 784, NIMG = 60000;
  return {
    group: 'batch', name: `gather_batch ${B}x${D} of ${NIMG} shuffled (u8 -> f32)`, atol: 0, rtol: 1e-6,
    skip: gemmOnlyFast,
    setup(be) {
      const rng = new Rng(51);
      const images = be.u8(NIMG * D), labels = be.u8(NIMG);
      for (let i = 0; i < images.length; i++) images[i] = rng.int(256);
      for (let i = 0; i < NIMG; i++) labels[i] = rng.int(10);
      const perm = be.i32(NIMG);
      for (let i = 0; i < NIMG; i++) perm[i] = i;
      rng.shuffle(perm);
      const x = be.f32(B * D), y = be.i32(B);
      let at = 0;
      return {
        run: () => {
          be.gatherBatch(x, y, images, labels, perm.subarray(at, at + B), B, D, 1 / 255, 0);
          at = at + 2 * B > NIMG ? 0 : at + B;
        },
        outputs: () => [x.slice(), y.slice()],
      };
    },
  };
}

function dropoutCases(): Case[] {
  return [
    {
      group: 'dropout', name: `dropout forward ${B}x512 p=0.5`, atol: 0, rtol: 1e-6, skip: gemmOnlyFast,
      setup(be) {
        const x = randF32(be, NELEM, 61), y = be.f32(NELEM), mask = be.f32(NELEM);
        return { run: () => be.dropoutForward(y, mask, x, NELEM, 0.5, 12345), outputs: () => [y.slice(), mask.slice()] };
      },
    },
    {
      group: 'dropout', name: `dropout backward ${B}x512`, atol: 0, rtol: 1e-6, skip: gemmOnlyFast,
      setup(be) {
        const dy = randF32(be, NELEM, 62), dx = be.f32(NELEM), mask = randF32(be, NELEM, 63, 0, 2);
        return { run: () => be.dropoutBackward(dx, dy, mask, NELEM), outputs: () => [dx.slice()] };
      },
    },
  ];
}

/** The dense layers as (B, I, O): the benchmarked MLPs' (batch 128) and the time-to-accuracy recipe's 800 -> 256 (batch 256). */
const LAYERS: [number, number, number][] = [[B, 784, 128], [B, 784, 512], [B, 512, 256], [B, 128, 10], [256, 800, 256]];

/** All cases; quick keeps one of each kind and the sizes named in the README. */
export function allCases(quick: boolean, modelLib: ModelLib | string): Case[] {
  const cases: Case[] = [];
  const plain: [number, number, number][] = quick
    ? [[128, 784, 128], [128, 784, 512]]
    : [[128, 784, 128], [128, 784, 512], [128, 512, 256], [128, 128, 10], [1024, 1024, 1024]];
  for (const [M, K, N] of plain) cases.push(gemmCase('nn', M, K, N));
  for (const [Bn, I, O] of quick ? LAYERS.slice(1, 2) : LAYERS) {
    cases.push(gemmCase('fwd', Bn, I, O));
    cases.push(gemmCase('dW', O, Bn, I));
    cases.push(gemmCase('dx', Bn, O, I));
  }
  cases.push(biasBackwardCase(B, 512));
  const acts = activationCases();
  cases.push(...(quick ? acts.filter((c) => /^(relu|tanh) /.test(c.name)) : acts));
  cases.push(...lossCases());
  cases.push(...(quick ? ['sgd', 'adam'] : ['sgd', 'momentum', 'adam']).map((k) => optimizerCase(k as OptimizerKind)));
  cases.push(gatherCase());
  cases.push(...dropoutCases());
  cases.push(...elementwiseCases(quick));
  cases.push(...stepCases(quick, modelLib));
  cases.push(...sparseCases(quick, modelLib));
  cases.push(...convCases(quick));
  return cases;
}
