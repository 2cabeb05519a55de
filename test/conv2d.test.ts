// conv2d forward and backward on every backend (ts reference, wasm-simd, wasm-scalar, and
// wasm-relaxed where it validates) against a float64 oracle written here from the definition, at
// odd sizes: kernel 1, 3, 5; stride 1, 2; padding 0, 1, 2; odd H and W; C and OC of 1 and 3; plus
// shapes that cross the micro-kernel edges (OC 5 and 8, K not a multiple of 4, more pixels than one
// im2col tile) and unaligned arrays; and shapes that take the Winograd path of stride-1 5- and
// 3-wide kernels (assembly/conv/winograd.ts) at odd sizes: tiles of 4 (6) that do not divide the output
// width, C and OC not multiples of 4 or 8, KH of 1 to 5, padding 0 to KW-1, in place or through a copy;
// and single-channel first layers (C = 1, assembly/conv/single.ts for 5x5): the preset's and the
// recipe's 28x28 (OC 16, 24), OC 7 and 13, widths that are no multiple of the 4-wide tile, pad 0
// and 2, batch 1 and odd batches, 3x3 beside them.
import { afterAll, describe, it, expect } from 'vitest';
import type { Backend, Conv2dShape } from '../src/engine/backend.js';
import { conv2dShape } from '../src/engine/ref/conv2d.js';
import { randomF32 } from './helpers.js';
import { check, expectSameBits, putF32, ref, reportMaxDiffs, wasmBackends } from './kernel_backends.js';
import { WasmBackend } from '../src/engine/wasm.js';
import { ThreadedWasmBackend } from '../src/engine/threads/backend.js';

/** Float64 oracle: pad the input explicitly, then correlate; gradients by the chain rule. */
function oracle(x: Float32Array, w: Float32Array, bias: Float32Array, dout: Float32Array, s: Conv2dShape) {
  const { B, C, H, W, OC, KH, KW, stride, pad, OH, OW } = s;
  const Hp = H + 2 * pad, Wp = W + 2 * pad;
  const xp = new Float64Array(B * C * Hp * Wp);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let v = 0; v < W; v++) {
    xp[((b * C + c) * Hp + h + pad) * Wp + v + pad] = x[((b * C + c) * H + h) * W + v];
  }
  const out = new Float64Array(B * OC * OH * OW);
  const dxp = new Float64Array(xp.length);
  const dw = new Float64Array(w.length);
  const db = new Float64Array(OC);
  for (let b = 0; b < B; b++) for (let o = 0; o < OC; o++) for (let y = 0; y < OH; y++) for (let z = 0; z < OW; z++) {
    const oi = ((b * OC + o) * OH + y) * OW + z;
    let sum = bias[o];
    const g = dout[oi];
    db[o] += g;
    for (let c = 0; c < C; c++) for (let i = 0; i < KH; i++) for (let j = 0; j < KW; j++) {
      const xi = ((b * C + c) * Hp + y * stride + i) * Wp + z * stride + j;
      const wi = ((o * C + c) * KH + i) * KW + j;
      sum += w[wi] * xp[xi];
      dw[wi] += g * xp[xi];
      dxp[xi] += g * w[wi];
    }
    out[oi] = sum;
  }
  const dx = new Float64Array(x.length);
  for (let b = 0; b < B; b++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let v = 0; v < W; v++) {
    dx[((b * C + c) * H + h) * W + v] = dxp[((b * C + c) * Hp + h + pad) * Wp + v + pad];
  }
  return { out, dx, dw, db };
}

interface Case { s: Conv2dShape; label: string }

function cases(): Case[] {
  const out: Case[] = [];
  const sizes = [[7, 9], [5, 5], [1, 3]];
  for (const k of [1, 3, 5]) for (const stride of [1, 2]) for (const pad of [0, 1, 2])
    for (const C of [1, 3]) for (const OC of [1, 3]) {
      const [H, W] = sizes[(k + stride + pad + C + OC) % sizes.length];
      if (H + 2 * pad < k || W + 2 * pad < k) continue;
      out.push({ s: conv2dShape(2, C, H, W, OC, k, k, stride, pad), label: `k${k} s${stride} p${pad} C${C} OC${OC} ${H}x${W}` });
    }
  // micro-kernel edges: OC 5 and 8 (4-row blocks plus leftovers), K = C*KH*KW of 25, 75, 200;
  // 28x28 with pad 2 gives 784 pixels (two im2col tiles, the second partial)
  for (const [B, C, H, W, OC, k, stride, pad] of [
    [3, 1, 28, 28, 8, 5, 1, 2], [2, 8, 12, 12, 16, 5, 1, 0], [2, 3, 11, 13, 5, 5, 2, 2],
    [1, 2, 9, 10, 7, 3, 1, 1], [2, 4, 8, 8, 4, 3, 2, 1], [1, 1, 24, 3, 3, 3, 1, 1],
  ]) {
    out.push({ s: conv2dShape(B, C, H, W, OC, k, k, stride, pad), label: `B${B} C${C} ${H}x${W} OC${OC} k${k} s${stride} p${pad}` });
  }
  for (const s of winogradShapes()) out.push({ s, label: `winograd B${s.B} C${s.C} ${s.H}x${s.W} OC${s.OC} k${s.KH}x${s.KW} p${s.pad}` });
  for (const s of singleShapes()) out.push({ s, label: `C1 B${s.B} ${s.H}x${s.W} OC${s.OC} k${s.KH} p${s.pad}` });
  return out;
}

/** Single-channel first layers, stride 1 (the 5x5 ones take assembly/conv/single.ts). */
function singleShapes(): Conv2dShape[] {
  return ([
    [3, 28, 28, 16, 5, 0],  // the fast preset's conv1: image read in place, 6 whole tiles
    [1, 28, 28, 24, 5, 0],  // the recipe's conv1, batch 1
    [5, 28, 28, 16, 5, 2],  // 'same' padding: 7 tiles, through the padded copy
    [3, 14, 17, 7, 5, 0],   // OH 10 (a partial 4-row block), OW 13 (last tile 1 column), OC 7
    [1, 13, 11, 13, 5, 2],  // OC 13, OW 11, pad 2
    [3, 12, 13, 24, 3, 0],  // 3x3 beside them
    [1, 9, 10, 7, 3, 2],
  ] as const).map(([B, H, W, OC, K, pad]) => conv2dShape(B, 1, H, W, OC, K, K, 1, pad));
}

/** Stride-1 shapes with 5- and 3-wide kernels that take the Winograd forward and/or input-gradient path. */
function winogradShapes(): Conv2dShape[] {
  return [...winograd5Shapes(), ...winograd3Shapes()];
}

function winograd5Shapes(): Conv2dShape[] {
  return ([
    [3, 8, 12, 12, 16, 5, 0],  // W3's second conv: image read in place, dinp written in place
    [2, 8, 13, 12, 16, 5, 0],  // OH 9: forward through the padded copy
    [1, 9, 11, 14, 11, 5, 1],  // C 9, OC 11, OW 12 (3 tiles), dinp through the padded buffer
    [2, 12, 10, 17, 8, 3, 2],  // KH 3, OW 17: the last tile has 1 column
    [3, 8, 9, 12, 9, 5, 4],    // pad 4 = KW-1: dinp's first and last tiles mostly padding
    [2, 16, 7, 13, 8, 1, 0],   // KH 1, OW 9
    [2, 5, 8, 13, 13, 2, 3],   // C 5, KH 2, pad 3, OW 15
    [1, 4, 12, 12, 8, 5, 0],   // C 4: forward only
  ] as const).map(([B, C, H, W, OC, KH, pad]) => conv2dShape(B, C, H, W, OC, KH, 5, 1, pad));
}

/** F(6,3): tiles of 6 outputs, 2 columns shared with the next tile. */
function winograd3Shapes(): Conv2dShape[] {
  return ([
    [2, 24, 12, 12, 32, 3, 0], // the recipe's conv 24->32 (OW 10: a tile of 6 and one of 4)
    [2, 16, 12, 12, 20, 3, 1], // pad 1 ('same'), OC 20: a partial 8-channel block
    [2, 8, 10, 14, 8, 3, 0],   // OW 12 = 2 whole tiles: dinp written in place
    [1, 9, 7, 17, 11, 3, 1],   // C 9, OC 11, OW 17: the last tile has 5 columns
    [2, 12, 11, 11, 13, 3, 0], // OW 9: the last tile has 3 columns (none past the first 4)
    [2, 8, 8, 14, 9, 1, 0],    // KH 1: the image read in place
    [1, 10, 9, 16, 8, 2, 2],   // C 10, KH 2, pad 2 = KW-1, OW 18
    [2, 6, 12, 12, 8, 3, 1],   // C 6: forward only
  ] as const).map(([B, C, H, W, OC, KH, pad]) => conv2dShape(B, C, H, W, OC, KH, 3, 1, pad));
}

reportMaxDiffs('conv2d: backends vs float64 oracle');

const backends: Backend[] = [ref, ...wasmBackends()];

for (const be of backends) {
  describe(be.name, () => {
    for (const { s, label } of cases()) {
      it(label, () => {
        const { B, C, H, W, OC, KH, KW, OH, OW } = s;
        const seed = B * 1000 + C * 100 + OC * 10 + KH + s.stride + H;
        const x = randomF32(B * C * H * W, seed);
        const w = randomF32(OC * C * KH * KW, seed + 1);
        const bias = randomF32(OC, seed + 2);
        const dout = randomF32(B * OC * OH * OW, seed + 3);
        const dw0 = randomF32(w.length, seed + 4);   // gradients accumulate: start from non-zero
        const db0 = randomF32(OC, seed + 5);
        const want = oracle(x, w, bias, dout, s);
        const mark = be.mark();
        // shift 1 and 3: pointers that are 4 and 12 mod 16
        const X = putF32(be, x, 1), Wt = putF32(be, w, 3), Bi = putF32(be, bias, 1);
        const O = putF32(be, new Float32Array(B * OC * OH * OW).fill(NaN), 3);
        const D = putF32(be, dout, 1);
        const DX = putF32(be, new Float32Array(x.length).fill(NaN), 3);
        const DW = putF32(be, dw0, 1), DB = putF32(be, db0, 3);
        const K = C * KH * KW;
        const tol = 2e-6 * K; // f32 sums of K (or OH*OW) terms of size ~1
        be.conv2dForward(O, X, Wt, Bi, s);
        check(`forward (${be.name})`, O, want.out, tol, 1e-5);
        be.conv2dBackward(DX, DW, DB, D, X, Wt, s);
        check(`dinp (${be.name})`, DX, want.dx, 2e-6 * OC * KH * KW, 1e-5);
        check(`dweight (${be.name})`, DW, want.dw.map((v, i) => v + dw0[i]), 2e-6 * B * OH * OW, 1e-5);
        check(`dbias (${be.name})`, DB, want.db.map((v, i) => v + db0[i]), 2e-6 * B * OH * OW, 1e-5);
        // no bias, no input gradient, no bias gradient: the rest is unchanged
        be.conv2dForward(O, X, Wt, null, s);
        check(`forward no bias (${be.name})`, O, want.out.map((v, i) => v - bias[Math.floor(i / (OH * OW)) % OC]), tol, 1e-5);
        DW.set(dw0);
        be.conv2dBackward(null, DW, null, D, X, Wt, s);
        check(`dweight only (${be.name})`, DW, want.dw.map((v, i) => v + dw0[i]), 2e-6 * B * OH * OW, 1e-5);
        be.release(mark);
      });
    }
  });
}

describe('conv2d Winograd dispatch', () => {
  it('the Winograd shapes above take the Winograd forward or input gradient (both paths covered)', () => {
    const k = new WasmBackend('simd').k as unknown as Record<string, (...a: number[]) => number>;
    let fwd = 0, inp = 0;
    for (const s of winogradShapes()) {
      const f = k.winograd_forward_fits(s.C, s.KW, s.OC, s.OW), i = k.winograd_input_fits(s.C, s.KW, s.OC, s.OW);
      expect(f || i).toBeTruthy();
      fwd += f; inp += i;
    }
    expect(fwd).toBeGreaterThan(4);
    expect(inp).toBeGreaterThan(4);
    // and the W3 net's second conv takes all three, as do the 3x3 convs of the recipe and --preset fast
    for (const [C, KW, OC, OW] of [[8, 5, 16, 8], [24, 3, 32, 10], [16, 3, 32, 10]]) {
      expect(k.winograd_forward_fits(C, KW, OC, OW) && k.winograd_input_fits(C, KW, OC, OW) && k.winograd_weight_fits(C, KW, OC, OW)).toBeTruthy();
    }
    // where F(6,3)'s tiles waste a third of the row (OW 8) or C is small, direct is faster
    expect(k.winograd_forward_fits(16, 3, 16, 8) || k.winograd_weight_fits(4, 3, 16, 12)).toBeFalsy();
  });

  // cuts inside kernel rows, at 8-channel block edges (units = 2 blocks x C*KH*KW) and one unit wide
  it.each([
    [5, [[0, 7, 233, 450], [0, 1, 2, 3, 226, 227, 450], [0, 224, 225, 449, 450]]],
    [3, [[0, 7, 85, 162], [0, 1, 2, 3, 82, 83, 162], [0, 80, 81, 161, 162]]],
  ])('Winograd dweight (KW %i) split into unit ranges gives the bits of one call', (kw, splits) => {
    const be = new WasmBackend('simd');
    const k = be.k as unknown as Record<string, (...a: number[]) => number>;
    const s = kw === 5 ? conv2dShape(3, 9, 11, 14, 11, 5, 5, 1, 1) : conv2dShape(3, 9, 12, 12, 11, 3, 3, 1, 1);
    const { B, C, H, W, OC, KH, KW, OH, OW } = s;
    expect(k.winograd_weight_fits(C, KW, OC, OW)).toBeTruthy();
    const x = putF32(be, randomF32(B * C * H * W, 71)), dout = putF32(be, randomF32(B * OC * OH * OW, 72));
    const dw0 = randomF32(OC * C * KH * KW, 73), db0 = randomF32(OC, 74);
    const scratch = be.f32(Math.ceil(k.conv2d_scratch_bytes(C, KH, KW, OH, OW, OC) / 4) + 4);
    const units = k.conv2d_weight_units(C, KH, KW, OC, 1);
    expect(units).toBe(2 * C * KH * KW);
    const run = (cuts: number[]) => {
      const dw = putF32(be, dw0), db = putF32(be, db0);
      for (let i = 0; i + 1 < cuts.length; i++) {
        k.conv2d_backward_weight(dw.byteOffset, db.byteOffset, dout.byteOffset, x.byteOffset, B, C, H, W, OC, KH, KW,
          1, 1, scratch.byteOffset, cuts[i], cuts[i + 1] - cuts[i]);
      }
      return [dw, db];
    };
    const [dw1, db1] = run([0, units]);
    // (the whole call against the float64 oracle: the Winograd shapes above)
    expect(splits.map((c) => c[c.length - 1])).toEqual([units, units, units]);
    for (const cuts of splits) {
      const [dw, db] = run(cuts);
      expectSameBits(dw, dw1);
      expectSameBits(db, db1);
    }
  });
});

describe('conv2d Winograd F(6,3) on threads', () => {
  const pools = [2, 3].map((n) => new ThreadedWasmBackend('simd', n));
  afterAll(() => { for (const p of pools) p.dispose(); });
  // B 19 over 2 or 3 threads: uneven image chunks; OC 20: 3 x 144 (8-channel block, weight) units,
  // cut inside block 1 (2 threads) or on block edges (3); dweight and dbias accumulate over two calls
  for (const pad of [0, 1]) {
    it(`forward, dinp, dweight and dbias are bit-identical for 1, 2 and 3 threads (3x3, pad ${pad})`, () => {
      const s = conv2dShape(19, 16, 12, 12, 20, 3, 3, 1, pad);
      const { B, C, H, W, OC, KH, KW, OH, OW } = s;
      const k = new WasmBackend('simd').k as unknown as Record<string, (...a: number[]) => number>;
      expect(k.winograd_forward_fits(C, KW, OC, OW) && k.winograd_input_fits(C, KW, OC, OW) && k.winograd_weight_fits(C, KW, OC, OW)).toBeTruthy();
      const run = (be: Backend) => {
        const x = putF32(be, randomF32(B * C * H * W, 81)), w = putF32(be, randomF32(OC * C * KH * KW, 82));
        const bias = putF32(be, randomF32(OC, 83)), out = be.f32(B * OC * OH * OW);
        const dw = putF32(be, randomF32(w.length, 84)), db = putF32(be, randomF32(OC, 85)), dx = be.f32(x.length).fill(NaN);
        be.conv2dForward(out, x, w, bias, s);
        for (let rep = 0; rep < 2; rep++) be.conv2dBackward(dx, dw, db, putF32(be, randomF32(out.length, 86 + rep)), x, w, s);
        const dwOnly = putF32(be, randomF32(w.length, 84));
        be.conv2dBackward(null, dwOnly, null, putF32(be, randomF32(out.length, 86)), x, w, s);
        return [out, dx, dw, db, dwOnly].map((a) => a.slice());
      };
      const want = run(new WasmBackend('simd'));
      for (const p of pools) run(p).forEach((got, i) => expectSameBits(got, want[i]));
    });
  }
});

describe('conv2d single-channel path', () => {
  const be = new WasmBackend('simd');
  const k = be.k as unknown as Record<string, (...a: number[]) => number>;

  it('the 5x5 C = 1 shapes above take it, the 3x3 ones and C > 1 do not', () => {
    for (const s of singleShapes()) {
      expect(k.single_forward_fits(s.C, s.KH, s.KW)).toBe(s.KH === 5 ? 1 : 0);
      expect(k.single_weight_fits(s.C, s.KH, s.KW)).toBe(s.KH === 5 ? 1 : 0);
    }
    expect(k.single_forward_fits(2, 5, 5) || k.single_weight_fits(2, 5, 5) || k.single_weight_fits(1, 3, 5)).toBeFalsy();
  });

  it('dweight and dbias split into unit ranges (inside kernel rows and 8-channel blocks) give the bits of one call', () => {
    for (const s of [conv2dShape(3, 1, 28, 28, 24, 5, 5, 1, 0), conv2dShape(5, 1, 13, 11, 13, 5, 5, 1, 2)]) {
      const { B, C, H, W, OC, KH, KW, OH, OW, pad } = s;
      const x = putF32(be, randomF32(B * H * W, 81)), dout = putF32(be, randomF32(B * OC * OH * OW, 82));
      const dw0 = randomF32(OC * KH * KW, 83), db0 = randomF32(OC, 84);
      const scratch = be.f32(Math.ceil(k.conv2d_scratch_bytes(C, KH, KW, OH, OW, OC) / 4) + 4);
      const units = k.conv2d_weight_units(C, KH, KW, OC, 1);
      expect(units).toBe(Math.ceil(OC / 8) * 25);
      const run = (cuts: number[]) => {
        const dw = putF32(be, dw0), db = putF32(be, db0);
        for (let i = 0; i + 1 < cuts.length; i++) {
          k.conv2d_backward_weight(dw.byteOffset, db.byteOffset, dout.byteOffset, x.byteOffset, B, C, H, W, OC, KH, KW,
            1, pad, scratch.byteOffset, cuts[i], cuts[i + 1] - cuts[i]);
        }
        return [dw, db];
      };
      const [dw1, db1] = run([0, units]);
      for (const cuts of [[0, units >> 1, units], [0, 1, 2, 3, 26, 27, units], [0, 24, 25, 26, 49, units], [0, 12, 37, units]]) {
        const [dw, db] = run(cuts);
        expectSameBits(dw, dw1);
        expectSameBits(db, db1);
      }
    }
  });

  it('the forward of a batch gives, image for image, the bits of one-image calls (threads split by images)', () => {
    const s = conv2dShape(5, 1, 13, 11, 13, 5, 5, 1, 2);
    const { B, H, W, OC, OH, OW } = s;
    const x = putF32(be, randomF32(B * H * W, 91)), w = putF32(be, randomF32(OC * 25, 92)), bias = putF32(be, randomF32(OC, 93));
    const all = be.f32(B * OC * OH * OW), one = be.f32(OC * OH * OW);
    be.conv2dForward(all, x, w, bias, s);
    for (let b = 0; b < B; b++) {
      be.conv2dForward(one, x.subarray(b * H * W, (b + 1) * H * W), w, bias, { ...s, B: 1 });
      expectSameBits(one, all.subarray(b * OC * OH * OW, (b + 1) * OC * OH * OW));
    }
  });
});

describe('conv2d shape', () => {
  it('computes OH, OW like PyTorch (floor)', () => {
    const s = conv2dShape(1, 1, 28, 28, 8, 5, 5, 2, 1);
    expect([s.OH, s.OW]).toEqual([13, 13]);
    expect(conv2dShape(1, 1, 7, 9, 1, 3, 3, 2, 0).OW).toBe(4);
  });
});
