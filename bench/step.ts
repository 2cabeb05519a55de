// One whole training step of an MLP, batch 128, through the project's own Model (src/model/):
// zero grads, forward, fused softmax + cross-entropy, backward, one SGD update of the arena.
// This is the number a user feels; the kernel rows above it explain where the time goes.
import type { OptimizerStep } from '../src/engine/backend.js';
import { Rng } from '../src/util/rng.js';
import type { Case } from './types.js';

const B = 128;

/** gemm FLOPs of one step: forward and dW for every dense layer, dx for all but the first. */
export function stepFlops(dims: number[], Bn: number): number {
  let f = 0;
  for (let l = 0; l + 1 < dims.length; l++) {
    const io = dims[l] * dims[l + 1];
    f += 2 * Bn * io * (l === 0 ? 2 : 3);
  }
  return f;
}

/** src/model, loaded at run time so a model mid-rewrite costs these rows, not the whole bench. */
export interface ModelLib {
  Model: typeof import('../src/model/model.js').Model;
  parseArch: typeof import('../src/model/spec.js').parseArch;
}

/** Loads src/model, or returns why it cannot. */
export async function loadModelLib(): Promise<ModelLib | string> {
  try {
    const [m, s] = await Promise.all([import('../src/model/model.js'), import('../src/model/spec.js')]);
    return { Model: m.Model, parseArch: s.parseArch };
  } catch (e) {
    return `src/model does not load: ${String(e).split('\n')[0]}`;
  }
}

/** Fixed inputs for a step case instead of random ones (bench/sparse.ts: MNIST rows). */
export interface StepInputs {
  name: string;
  /** B rows of inputs and their labels. */
  batch: () => { x: Float32Array; y: Int32Array };
  /** Model option: skip the first layer's zero inputs (default on, as in training). */
  sparseInput: boolean;
}

export function stepCase(arch: string, lib: ModelLib | string, inputs?: StepInputs): Case {
  const dims = arch.split('-').map(Number);
  const C = dims[dims.length - 1];
  return {
    group: 'step',
    name: inputs?.name ?? `train step ${arch} B${B} (relu, sgd)`,
    flops: stepFlops(dims, B),
    atol: 1e-5, rtol: 1e-4,
    setup(be) {
      if (typeof lib === 'string') throw new Error(lib);
      const { Model, parseArch } = lib;
      const spec = parseArch(arch, { activation: 'relu', alpha: 0, dropout: 0 }, { height: 28, width: 28, classes: C });
      const model = new Model(be, spec, B, { sparseInput: inputs?.sparseInput ?? true });
      model.init(new Rng(7), 'he');
      const rng = new Rng(8);
      const x = be.f32(B * dims[0]), labels = be.i32(B), dlogits = be.f32(B * C);
      if (inputs) {
        const { x: xs, y } = inputs.batch();
        x.set(xs);
        labels.set(y);
      } else {
        for (let i = 0; i < x.length; i++) x[i] = rng.float();
        for (let i = 0; i < B; i++) labels[i] = rng.int(C);
      }
      const N = model.params.length;
      const m = be.f32(N), v = be.f32(N);
      const h: OptimizerStep = {
        kind: 'sgd', lr: 0.01, momentum: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1,
      };
      const ctx = { training: true, rng };
      let loss = 0;
      return {
        run: () => {
          model.zeroGrad();
          const logits = model.forward(x, B, ctx);
          loss = be.softmaxCrossEntropy(dlogits, logits, labels, B, C);
          model.backward(dlogits, B);
          be.optimizerStep(model.params, model.grads, m, v, N, h);
        },
        outputs: () => [model.params.slice(), [loss / B]],
      };
    },
  };
}

/** Training-step cases: the seed's small net grown to 128 hidden units, and a deeper one. */
export function stepCases(_quick: boolean, lib: ModelLib | string): Case[] {
  return [stepCase('784-128-10', lib), stepCase('784-512-256-10', lib)];
}
