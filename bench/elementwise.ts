// Cases of the element-wise layers of a conv net: batch norm (training forward, evaluation forward,
// backward) per channel after a conv and per feature after a dense layer, and 2x2 max pooling,
// at the sizes of the first --preset fast network (batch 256: 16 channels of 24x24 after conv1, 32
// of 10x10 after conv2, 256 features after a dense layer) and the recipe's first pool (24 of 24x24). They move far more bytes than they compute, so each
// case names the bytes it must move at least (its inputs read once, its outputs written once) and
// the table shows that over the time as GB/s: how near a kernel runs to the memory's speed.
import type { BatchNormShape, Pool2dShape } from '../src/engine/backend.js';
import { pool2dShape } from '../src/engine/ref/pool.js';
import type { Case } from './types.js';
import { randF32 } from './rand.js';

const gemmOnlyFast = (be: string) => (be === 'ts-fast' ? 'same as ts-ref outside gemm' : null);
const MODE = { momentum: 0.1, eps: 1e-5 };

/** Batch norm forward (training or evaluation) and backward on (B, C, HW). */
function batchNormCases(label: string, s: BatchNormShape): Case[] {
  const n = s.B * s.C * s.HW;
  const setup = (be: Parameters<Case['setup']>[0]) => ({
    x: randF32(be, n, 71, -2, 3), gamma: randF32(be, s.C, 72, 0.5, 1.5), beta: randF32(be, s.C, 73),
    runMean: randF32(be, s.C, 74), runVar: randF32(be, s.C, 75, 0.5, 2), y: be.f32(n), mean: be.f32(s.C), invstd: be.f32(s.C),
  });
  const forward = (training: boolean): Case => ({
    group: 'batchnorm', name: `bn ${training ? 'forward' : 'eval'} ${label}`, bytes: 8 * n,
    atol: 1e-5, rtol: 1e-4, skip: gemmOnlyFast,
    setup(be) {
      const a = setup(be);
      // Training updates the running statistics each call: the outputs are those of the first call.
      return {
        run: () => be.batchNormForward(a.y, a.mean, a.x, a.gamma, a.beta, a.invstd, a.runMean, a.runVar, s, { ...MODE, training }),
        outputs: () => [a.y.slice(), ...(training ? [a.mean.slice(), a.invstd.slice()] : [])],
      };
    },
  });
  return [forward(true), forward(false), {
    group: 'batchnorm', name: `bn backward ${label}`, bytes: 12 * n, atol: 1e-5, rtol: 1e-3, skip: gemmOnlyFast,
    setup(be) {
      const a = setup(be);
      be.batchNormForward(a.y, a.mean, a.x, a.gamma, a.beta, a.invstd, a.runMean, a.runVar, s, { ...MODE, training: true });
      const dout = randF32(be, n, 76), dinp = be.f32(n), dgamma = be.f32(s.C), dbeta = be.f32(s.C);
      return {
        run: () => {
          dgamma.fill(0);
          dbeta.fill(0);
          be.batchNormBackward(dinp, dgamma, dbeta, dout, a.x, a.gamma, a.mean, a.invstd, s);
        },
        outputs: () => [dinp.slice(), dgamma.slice(), dbeta.slice()],
      };
    },
  }];
}

/** 2x2 max pooling forward and backward on (B, C, H, W). */
function maxPoolCases(p: Pool2dShape): Case[] {
  const nIn = p.B * p.C * p.H * p.W, nOut = p.B * p.C * p.OH * p.OW;
  const label = `${p.B}x${p.C}x${p.H}x${p.W}`;
  return [{
    // reads the input, writes the output and its argmax (i32)
    group: 'pool', name: `maxpool2 forward ${label}`, bytes: 4 * nIn + 8 * nOut, atol: 0, rtol: 0, skip: gemmOnlyFast,
    setup(be) {
      const x = randF32(be, nIn, 81), out = be.f32(nOut), argmax = be.i32(nOut);
      return { run: () => be.maxPoolForward(out, argmax, x, p), outputs: () => [out.slice(), argmax.slice()] };
    },
  }, {
    // reads dout and argmax, writes dinp
    group: 'pool', name: `maxpool2 backward ${label}`, bytes: 8 * nOut + 4 * nIn, atol: 0, rtol: 0, skip: gemmOnlyFast,
    setup(be) {
      const x = randF32(be, nIn, 82), out = be.f32(nOut), argmax = be.i32(nOut), dout = randF32(be, nOut, 83), dinp = be.f32(nIn);
      be.maxPoolForward(out, argmax, x, p);
      return { run: () => be.maxPoolBackward(dinp, dout, argmax, p), outputs: () => [dinp.slice()] };
    },
  }];
}

/** The element-wise cases; quick keeps the first layer's (the largest). */
export function elementwiseCases(quick: boolean): Case[] {
  const B = 256;
  const cases = [
    ...batchNormCases(`${B}x16x24x24`, { B, C: 16, HW: 24 * 24 }),
    ...maxPoolCases(pool2dShape(B, 16, 24, 24, 2, 2)),
  ];
  if (quick) return cases;
  return [
    ...cases,
    ...batchNormCases(`${B}x32x10x10`, { B, C: 32, HW: 10 * 10 }),
    ...batchNormCases(`${B}x256 (dense)`, { B, C: 256, HW: 1 }),
    ...maxPoolCases(pool2dShape(B, 32, 10, 10, 2, 2)),
    ...maxPoolCases(pool2dShape(B, 24, 24, 24, 2, 2)), // the time-to-accuracy recipe's first pool
  ];
}
