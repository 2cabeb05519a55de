// The first convolution of an MNIST network (C = 1, 5x5 on 28x28, batch 256, no padding): the
// fast preset's conv 1->16 and the record recipe's conv 1->24, forward and weight gradient (with
// dbias, without dinp, as the trainer calls it). GFLOP/s count the direct multiply-adds,
// 2*B*OC*OH*OW*KH*KW, whatever the algorithm (assembly/conv/single.ts does fewer).
import type { Case } from './types.js';
import { randF32 } from './rand.js';
import { conv2dShape } from '../src/engine/ref/conv2d.js';

export function convFirstCases(): Case[] {
  const out: Case[] = [];
  for (const OC of [16, 24]) {
    const s = conv2dShape(256, 1, 28, 28, OC, 5, 5, 1, 0);
    const flops = 2 * s.B * OC * s.OH * s.OW * 25, name = `conv 1->${OC} 5x5 28x28 B256`;
    const skip = (be: string) => (be === 'ts-fast' ? 'same as ts-ref outside gemm' : null);
    const inputs = (be: Parameters<Case['setup']>[0]) => ({
      x: randF32(be, s.B * 784, 71 + OC), w: randF32(be, OC * 25, 72 + OC, -0.2, 0.2), b: randF32(be, OC, 73 + OC),
    });
    out.push({
      group: 'conv', name: `${name} forward`, flops, atol: 1e-4, rtol: 1e-4, skip,
      setup(be) {
        const { x, w, b } = inputs(be);
        const y = be.f32(s.B * OC * s.OH * s.OW);
        return { run: () => be.conv2dForward(y, x, w, b, s), outputs: () => [y.slice()] };
      },
    });
    out.push({
      // dweight, dbias (+=) over 256 x 576 pixels: the tolerance of test/conv2d.test.ts
      group: 'conv', name: `${name} dweight+dbias`, flops, atol: 2e-6 * s.B * s.OH * s.OW, rtol: 1e-4, skip,
      setup(be) {
        const { x, w } = inputs(be);
        const dout = randF32(be, s.B * OC * s.OH * s.OW, 74 + OC), dw = be.f32(OC * 25), db = be.f32(OC);
        return { run: () => be.conv2dBackward(null, dw, db, dout, x, w, s), outputs: () => [dw.slice(), db.slice()] };
      },
    });
  }
  return out;
}
