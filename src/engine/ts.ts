// The `ts` backend: the reference kernels of src/engine/ref/, plain TypeScript written to be read.
// It is the oracle for every test and the baseline column of the benchmark.
import type { Backend, SparseOps } from './backend.js';
import { gemm, biasBackward } from './ref/matmul.js';
import { activationForward, activationBackward } from './ref/activation.js';
import { softmaxForward, softmaxCrossEntropy, countCorrect } from './ref/softmax_ce.js';
import { optimizerStep } from './ref/optimizer.js';
import { gatherBatch, gatherBatchChannels } from './ref/batch.js';
import { dropoutForward, dropoutBackward } from './ref/dropout.js';
import { conv2dForward, conv2dBackward } from './ref/conv2d.js';
import { sparseRows, sparseForward, sparseWeightGrad } from './ref/sparse.js';
import { batchNormForward, batchNormBackward } from './ref/batchnorm.js';
import { augmentBatch } from './ref/augment.js';
import { maxPoolForward, maxPoolBackward, avgPoolForward, avgPoolBackward } from './ref/pool.js';

export class TsBackend implements Backend, SparseOps {
  readonly name: string = 'ts';
  f32(n: number): Float32Array { return new Float32Array(n); }
  i32(n: number): Int32Array { return new Int32Array(n); }
  u8(n: number): Uint8Array { return new Uint8Array(n); }
  mark(): number { return 0; }
  release(_mark: number): void { /* garbage collected */ }
  fillZero(x: Float32Array, N: number): void { x.fill(0, 0, N); }
  gemm = gemm;
  biasBackward = biasBackward;
  sparseRows = sparseRows;
  sparseForward = sparseForward;
  sparseWeightGrad = sparseWeightGrad;
  activationForward = activationForward;
  activationBackward = activationBackward;
  softmaxForward = softmaxForward;
  softmaxCrossEntropy = softmaxCrossEntropy;
  countCorrect = countCorrect;
  optimizerStep = optimizerStep;
  gatherBatch = gatherBatch;
  gatherBatchChannels = gatherBatchChannels;
  dropoutForward = dropoutForward;
  dropoutBackward = dropoutBackward;
  conv2dForward = conv2dForward;
  conv2dBackward = conv2dBackward;
  maxPoolForward = maxPoolForward;
  maxPoolBackward = maxPoolBackward;
  avgPoolForward = avgPoolForward;
  avgPoolBackward = avgPoolBackward;
  augmentBatch = augmentBatch;
  batchNormForward = batchNormForward;
  batchNormBackward = batchNormBackward;
}
