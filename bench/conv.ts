// The convolution layers of issue 18's networks at batch 256: the recipe's (conv 1->24 5x5 on
// 28x28, conv 24->32 3x3 on 12x12), the first --preset fast's (conv 1->16 5x5, conv 16->32 3x3)
// and today's ("fast 2": conv 1->8 5x5, conv 8->16 3x3). Three
// rows per layer: the forward pass; the backward pass of a hidden layer (input gradient, weight
// and bias gradients: what a training step runs); the weight and bias gradients alone (a first
// layer's backward). The input gradient's time is the difference of the last two. GFLOP/s count
// the direct multiply-adds of one pass (2 B OC OH OW C KH KW) whatever the algorithm, so rows
// compare across algorithms and layers.
import type { Backend, Conv2dShape } from '../src/engine/backend.js';
import { conv2dShape } from '../src/engine/ref/conv2d.js';
import { randF32 } from './rand.js';
import type { Case } from './types.js';

const B = 256;

/** [label, C, H, W, OC, kernel, pad] */
const LAYERS: [string, number, number, number, number, number, number][] = [
  ['recipe', 1, 28, 28, 24, 5, 0],
  ['recipe', 24, 12, 12, 32, 3, 0],
  ['fast', 1, 28, 28, 16, 5, 0],
  ['fast', 16, 12, 12, 32, 3, 0],
  ['fast 2', 1, 28, 28, 8, 5, 0],
  ['fast 2', 8, 12, 12, 16, 3, 0],
];

/** ts-fast only replaces gemm: these kernels would time the reference twice. */
const notFast = (be: string) => (be === 'ts-fast' ? 'same as ts-ref outside gemm' : null);

type Pass = 'forward' | 'backward' | 'dweight';

function convCase(label: string, s: Conv2dShape, pass: Pass): Case {
  const { C, H, W, OC, KH, KW, OH, OW } = s;
  const K = C * KH * KW;
  const what = { forward: 'fwd', backward: 'dinp+dW+db', dweight: 'dW+db' }[pass];
  return {
    group: 'conv',
    name: `conv ${C}->${OC} ${KH}x${KW} ${H}x${W} ${what} (${label})`,
    flops: 2 * B * OC * OH * OW * K,
    // f32 sums of K (forward), OC*KH*KW (dinp) or B*OH*OW (dweight) terms of size ~1
    atol: 2e-6 * (pass === 'forward' ? K : pass === 'backward' ? OC * KH * KW : B * OH * OW), rtol: 1e-5,
    skip: notFast,
    setup(be: Backend) {
      const seed = C * 1000 + OC * 10 + KH;
      const x = randF32(be, B * C * H * W, seed), w = randF32(be, OC * K, seed + 1), bias = randF32(be, OC, seed + 2);
      if (pass === 'forward') {
        const out = be.f32(B * OC * OH * OW);
        return { run: () => be.conv2dForward(out, x, w, bias, s), outputs: () => [out.slice()] };
      }
      const dout = randF32(be, B * OC * OH * OW, seed + 3);
      const dw = randF32(be, OC * K, seed + 4), db = randF32(be, OC, seed + 5);
      if (pass === 'dweight') {
        return { run: () => be.conv2dBackward(null, dw, db, dout, x, w, s), outputs: () => [dw.slice(), db.slice()] };
      }
      const dx = be.f32(B * C * H * W);
      return { run: () => be.conv2dBackward(dx, dw, db, dout, x, w, s), outputs: () => [dx.slice()] };
    },
  };
}

/** Three rows per layer; quick keeps the 3x3 layers' forward and backward. */
export function convCases(quick: boolean): Case[] {
  const out: Case[] = [];
  for (const [label, C, H, W, OC, k, pad] of LAYERS) {
    if (quick && k !== 3) continue;
    const s = conv2dShape(B, C, H, W, OC, k, k, 1, pad);
    for (const pass of (quick ? ['forward', 'backward'] : ['forward', 'backward', 'dweight']) as Pass[]) out.push(convCase(label, s, pass));
  }
  return out;
}
