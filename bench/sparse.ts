// The zero-skipping first layer (assembly/sparse.ts, layers/sparse_dense.ts) on real MNIST rows, next to
// what it replaces: the forward and weight-gradient gemm of a 784-128 first layer, and the whole
// 784-128-10 training step with zeros skipped and with every value multiplied. GFLOP/s of the
// sparse rows count the dense multiply-adds they stand for (2 B I O), so they compare with gemm's.
import { join } from 'node:path';
import { hasSparseOps, type Backend, type SparseOps } from '../src/engine/backend.js';
import { projectRoot } from '../src/engine/root.js';
import { loadIdxImages, loadIdxLabels } from '../src/data/idx.js';
import { Rng } from '../src/util/rng.js';
import { randF32 } from './rand.js';
import { stepCase, type ModelLib } from './step.js';
import type { Case } from './types.js';

const B = 128, I = 784, O = 128;

/** The first B test images of the bundled MNIST, shuffled rows, normalized to [0, 1], and their labels. */
function mnistBatch(): { x: Float32Array; y: Int32Array } {
  const dir = join(projectRoot(), 'data', 'mnist');
  const { images, n } = loadIdxImages(join(dir, 't10k-images-idx3-ubyte.gz'));
  const labels = loadIdxLabels(join(dir, 't10k-labels-idx1-ubyte.gz'));
  const rng = new Rng(71);
  const x = new Float32Array(B * I), y = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const row = rng.int(n);
    for (let k = 0; k < I; k++) x[b * I + k] = images[row * I + k] / 255;
    y[b] = labels[row];
  }
  return { x, y };
}

let cached: { x: Float32Array; y: Int32Array } | null = null;
const batch = () => (cached ??= mnistBatch());

function put(be: Backend, src: Float32Array): Float32Array {
  const a = be.f32(src.length);
  a.set(src);
  return a;
}

/** ts-fast only replaces gemm: these kernels would time the reference twice. */
const sameAsRef = (be: string) => (be === 'ts-fast' ? 'same as ts-ref outside gemm' : null);

/** The backend's zero-skipping kernels (every benchmarked backend has them). */
function sparseOps(be: Backend): SparseOps {
  if (!hasSparseOps(be)) throw new Error(`${be.name} has no sparse kernels`);
  return be;
}

/** What the layer runs instead of gemm: the forward with the compression, dW on rows compressed once. */
function sparseLayerCases(): Case[] {
  const buffers = (be: Backend) => ({
    x: put(be, batch().x), rows: { idx: be.i32(B * I), val: be.f32(B * I), start: be.i32(B), cnt: be.i32(B) },
  });
  return [
    {
      group: 'sparse', name: `sparse fwd ${B}x${I}x${O} (MNIST rows)`, flops: 2 * B * I * O,
      atol: 1e-5, rtol: 1e-5, skip: sameAsRef,
      setup(be) {
        const { x, rows } = buffers(be);
        const W = randF32(be, O * I, 81), bias = randF32(be, O, 82), y = be.f32(B * O), sp = sparseOps(be);
        return {
          run: () => {
            sp.sparseRows(rows, x, B, I);
            sp.sparseForward(y, rows, W, bias, B, I, O);
          },
          outputs: () => [y.slice()],
        };
      },
    },
    {
      group: 'sparse', name: `sparse dW ${O}x${B}x${I} (MNIST rows, +=)`, flops: 2 * B * I * O,
      atol: 1e-5, rtol: 1e-5, skip: sameAsRef,
      setup(be) {
        const { x, rows } = buffers(be);
        const dy = randF32(be, B * O, 83), dW = randF32(be, O * I, 84), sp = sparseOps(be);
        sp.sparseRows(rows, x, B, I);
        return {
          run: () => sp.sparseWeightGrad(dW, rows, dy, B, I, O),
          outputs: () => [dW.slice()],
        };
      },
    },
  ];
}

/** A 784-128-10 SGD step on MNIST rows through the project's Model (bench/step.ts), with and without skipping. */
function mnistStepCase(lib: ModelLib | string, skipZeros: boolean): Case {
  return stepCase('784-128-10', lib, {
    name: `train step 784-128-10 B${B} MNIST, ${skipZeros ? 'zeros skipped' : 'dense'}`, batch, sparseInput: skipZeros,
  });
}

/** The sparse-layer cases; quick keeps the two step rows. */
export function sparseCases(quick: boolean, lib: ModelLib | string): Case[] {
  const steps = [mnistStepCase(lib, true), mnistStepCase(lib, false)];
  return quick ? steps : [...sparseLayerCases(), ...steps];
}
