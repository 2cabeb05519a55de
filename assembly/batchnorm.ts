// Batch normalization over channels, forward and backward (SIMD, with a naive scalar twin).
//   inp, y, dout, dinp: (B, C, HW) with sample stride ld (floats): channel c of sample b is the HW
//   floats at b*ld + c*HW. A conv's output is (B, C, H*W); a dense layer's is (B, O, 1).
//   gamma, beta, mean, invstd, runMean, runVar, dgamma, dbeta: (C).
// Training (n = B*HW values per channel):
//   mean = sum x / n, var = sum (x - mean)^2 / n          (two passes: no cancellation)
//   invstd = 1 / sqrt(var + eps), y = gamma (x - mean) invstd + beta = x k + (beta - mean k), k = gamma invstd
//   runMean += momentum (mean - runMean), runVar += momentum (var n/(n-1) - runVar)   (PyTorch's)
// Evaluation: y = x s + (beta - runMean s), s = gamma / sqrt(runVar + eps).
// The forward keeps mean and invstd, not xhat: the backward recomputes xhat = x invstd - mean invstd
// from the forward's input, saving a (B, C, HW) buffer.
// Backward, with g = sum dout, h = sum dout xhat over the channel:
//   dgamma += h, dbeta += g, dinp = gamma invstd (dout - g/n - xhat h/n), computed as dout k + x p + q
// A channel's passes run back to back, so its B rows (B*HW floats: a few hundred KB for a conv
// layer) come from memory once and mostly stay in cache for the next pass. The backward's second
// pass (two inputs: the most bytes to keep) walks the samples last to first, starting with the
// rows its sums read last, the likeliest to be in cache still. Each pass is one multiply-add or
// less per element: the time is memory's, provided the sums are not one dependency chain, so
// every row is summed in four 4-lane accumulators.
// Every sum of a channel is taken in one fixed order (sample by sample; within a sample, the four
// accumulators over 16-float blocks, the 4-float blocks left into the first, added (a0+a1)+(a2+a3),
// lanes (0+1)+(2+3), then the scalar tail; each sample's sum added to an f64 total), and a channel
// is computed by one call only, so a split by channels gives the same bits. A dense layer's
// features (HW = 1) run four channels to a vector in that same order (see featuresForward4). The
// scalar twin adds every value to the f64 total in turn: it agrees to rounding, not bits.
import { hsum01_23 } from './simd';

// @ts-ignore: decorator
@inline function rowAt(p: usize, b: i32, c: i32, HW: i32, ld: i32): usize {
  return p + ((<usize>b * <usize>ld + <usize>c * <usize>HW) << 2);
}

/** One term of a sum: v, or (v - m)^2 when sq. */
// @ts-ignore: decorator
@inline function term4(v: v128, mv: v128, sq: bool): v128 {
  if (!sq) return v;
  const d = f32x4.sub(v, mv);
  return f32x4.mul(d, d);
}

/** Sum of the n floats at p (minus m, squared, when sq), in the fixed order of the header. */
// @ts-ignore: decorator
@inline function rowSum(p: usize, n: i32, m: f32, sq: bool): f32 {
  const mv = f32x4.splat(m);
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 64 <= end; i += 64) {
    a0 = f32x4.add(a0, term4(v128.load(p + i), mv, sq));
    a1 = f32x4.add(a1, term4(v128.load(p + i, 16), mv, sq));
    a2 = f32x4.add(a2, term4(v128.load(p + i, 32), mv, sq));
    a3 = f32x4.add(a3, term4(v128.load(p + i, 48), mv, sq));
  }
  for (; i + 16 <= end; i += 16) a0 = f32x4.add(a0, term4(v128.load(p + i), mv, sq));
  let s = hsum01_23(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
  for (; i < end; i += 4) {
    const v = load<f32>(p + i);
    s += sq ? (v - m) * (v - m) : v;
  }
  return s;
}

/** Sum of dout and of dout*xhat over the n floats at pd, px (xhat = x a + s): lanes 0 and 1 of the result. */
// @ts-ignore: decorator
@inline function rowDots(pd: usize, px: usize, n: i32, a: f32, s: f32): v128 {
  const av = f32x4.splat(a), sv = f32x4.splat(s);
  let g0 = f32x4.splat(0), g1 = g0, g2 = g0, g3 = g0;
  let h0 = g0, h1 = g0, h2 = g0, h3 = g0;
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 64 <= end; i += 64) {
    let d = v128.load(pd + i);
    g0 = f32x4.add(g0, d);
    h0 = f32x4.add(h0, f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px + i), av), sv)));
    d = v128.load(pd + i, 16);
    g1 = f32x4.add(g1, d);
    h1 = f32x4.add(h1, f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px + i, 16), av), sv)));
    d = v128.load(pd + i, 32);
    g2 = f32x4.add(g2, d);
    h2 = f32x4.add(h2, f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px + i, 32), av), sv)));
    d = v128.load(pd + i, 48);
    g3 = f32x4.add(g3, d);
    h3 = f32x4.add(h3, f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px + i, 48), av), sv)));
  }
  for (; i + 16 <= end; i += 16) {
    const d = v128.load(pd + i);
    g0 = f32x4.add(g0, d);
    h0 = f32x4.add(h0, f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px + i), av), sv)));
  }
  let gs = hsum01_23(f32x4.add(f32x4.add(g0, g1), f32x4.add(g2, g3)));
  let hs = hsum01_23(f32x4.add(f32x4.add(h0, h1), f32x4.add(h2, h3)));
  for (; i < end; i += 4) {
    const d = load<f32>(pd + i);
    gs += d;
    hs += d * (load<f32>(px + i) * a + s);
  }
  return f32x4(gs, hs, 0, 0);
}

/** out[i] = in[i] * a + b over n floats (out may alias in). */
// @ts-ignore: decorator
@inline function rowAffine(out: usize, inp: usize, n: i32, a: f32, b: f32): void {
  const av = f32x4.splat(a);
  const bv = f32x4.splat(b);
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 32 <= end; i += 32) {
    const v0 = v128.load(inp + i), v1 = v128.load(inp + i, 16);
    v128.store(out + i, f32x4.add(f32x4.mul(v0, av), bv));
    v128.store(out + i, f32x4.add(f32x4.mul(v1, av), bv), 16);
  }
  for (; i + 16 <= end; i += 16) v128.store(out + i, f32x4.add(f32x4.mul(v128.load(inp + i), av), bv));
  for (; i < end; i += 4) store<f32>(out + i, load<f32>(inp + i) * a + b);
}

/** dinp[i] = dout[i] k + x[i] p + q over n floats (dinp may alias dout). */
// @ts-ignore: decorator
@inline function rowDinp(pi: usize, pd: usize, px: usize, n: i32, k: f32, p: f32, q: f32): void {
  const kv = f32x4.splat(k), pv = f32x4.splat(p), qv = f32x4.splat(q);
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 32 <= end; i += 32) {
    const d0 = v128.load(pd + i), d1 = v128.load(pd + i, 16);
    const x0 = v128.load(px + i), x1 = v128.load(px + i, 16);
    v128.store(pi + i, f32x4.add(f32x4.mul(d0, kv), f32x4.add(f32x4.mul(x0, pv), qv)));
    v128.store(pi + i, f32x4.add(f32x4.mul(d1, kv), f32x4.add(f32x4.mul(x1, pv), qv)), 16);
  }
  for (; i + 16 <= end; i += 16) {
    v128.store(pi + i, f32x4.add(f32x4.mul(v128.load(pd + i), kv), f32x4.add(f32x4.mul(v128.load(px + i), pv), qv)));
  }
  for (; i < end; i += 4) store<f32>(pi + i, load<f32>(pd + i) * k + (load<f32>(px + i) * p + q));
}

// ---- a dense layer's features (HW = 1): channels c..c+3 of a sample are 4 adjacent floats ----
// Four channels run in the lanes of one vector, each adding its terms to an f64 total sample by
// sample: with one float per row, the per-channel path's order (each row's f32 term, then the f64
// add), so the same bits, and a chunk may start at any channel. Rows one float long would leave the
// per-channel path one strided load per row and its row overhead.

/** f64 totals (lanes 0-1 in lo, 2-3 in hi) += the f32 lanes of v. */
// @ts-ignore: decorator
@inline function addF64(lo: v128, v: v128): v128 {
  return f64x2.add(lo, f64x2.promote_low_f32x4(v));
}
// @ts-ignore: decorator
@inline function addF64Hi(hi: v128, v: v128): v128 {
  return f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)));
}

/** Lane j of totals lo (lanes 0-1), hi (2-3). */
// @ts-ignore: decorator
@inline function laneF64(lo: v128, hi: v128, j: i32): f64 {
  return j == 0 ? f64x2.extract_lane(lo, 0) : j == 1 ? f64x2.extract_lane(lo, 1)
    : j == 2 ? f64x2.extract_lane(hi, 0) : f64x2.extract_lane(hi, 1);
}

/** batchnorm_forward's training pass of channels c..c+3 of features (HW = 1, sample stride ld). */
// @ts-ignore: decorator
@inline function featuresForward4(y: usize, mean: usize, inp: usize, gamma: usize, beta: usize, invstd: usize,
  runMean: usize, runVar: usize, B: i32, c: i32, ld: i32, momentum: f64, eps: f64): void {
  const step = <usize>ld << 2;
  const x0 = inp + (<usize>c << 2), y0 = y + (<usize>c << 2);
  let lo = f64x2.splat(0), hi = lo;
  for (let b = 0, p = x0; b < B; b++, p += step) {
    const v = v128.load(p);
    lo = addF64(lo, v);
    hi = addF64Hi(hi, v);
  }
  const mu = f64x2.div(lo, f64x2.splat(<f64>B)), mu2 = f64x2.div(hi, f64x2.splat(<f64>B));
  const m = v128.shuffle<f32>(f32x4.demote_f64x2_zero(mu), f32x4.demote_f64x2_zero(mu2), 0, 1, 4, 5);
  lo = f64x2.splat(0); hi = lo;
  for (let b = 0, p = x0; b < B; b++, p += step) {
    const d = f32x4.sub(v128.load(p), m);
    const sq = f32x4.mul(d, d);
    lo = addF64(lo, sq);
    hi = addF64Hi(hi, sq);
  }
  v128.store(mean + (<usize>c << 2), m);
  for (let j = 0; j < 4; j++) channelStats(c + j, laneF64(mu, mu2, j), laneF64(lo, hi, j), B, momentum, eps, invstd, runMean, runVar);
  const o = <usize>c << 2;
  const k = f32x4.mul(v128.load(gamma + o), v128.load(invstd + o));
  const t = f32x4.sub(v128.load(beta + o), f32x4.mul(m, k));
  for (let b = 0, p = x0, q = y0; b < B; b++, p += step, q += step) v128.store(q, f32x4.add(f32x4.mul(v128.load(p), k), t));
}

/** batchnorm_forward's evaluation of channels c..c+3 of features (HW = 1, sample stride ld). */
// @ts-ignore: decorator
@inline function featuresEval4(y: usize, inp: usize, gamma: usize, beta: usize, runMean: usize, runVar: usize,
  B: i32, c: i32, ld: i32, eps: f64): void {
  const step = <usize>ld << 2;
  const o = <usize>c << 2;
  const s = f32x4(evalScale(c, gamma, runVar, eps), evalScale(c + 1, gamma, runVar, eps),
    evalScale(c + 2, gamma, runVar, eps), evalScale(c + 3, gamma, runVar, eps));
  const t = f32x4.sub(v128.load(beta + o), f32x4.mul(v128.load(runMean + o), s));
  for (let b = 0, p = inp + o, q = y + o; b < B; b++, p += step, q += step) v128.store(q, f32x4.add(f32x4.mul(v128.load(p), s), t));
}

/** batchnorm_backward of channels c..c+3 of features (HW = 1, sample stride ld). */
// @ts-ignore: decorator
@inline function featuresBackward4(dinp: usize, dgamma: usize, dbeta: usize, dout: usize, inp: usize, gamma: usize,
  mean: usize, invstd: usize, B: i32, c: i32, ld: i32): void {
  const step = <usize>ld << 2;
  const o = <usize>c << 2;
  const is = v128.load(invstd + o);
  const sh = f32x4.mul(f32x4.neg(v128.load(mean + o)), is);
  let glo = f64x2.splat(0), ghi = glo, hlo = glo, hhi = glo;
  for (let b = 0, pd = dout + o, px = inp + o; b < B; b++, pd += step, px += step) {
    const d = v128.load(pd);
    const h = f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px), is), sh));
    glo = addF64(glo, d); ghi = addF64Hi(ghi, d);
    hlo = addF64(hlo, h); hhi = addF64Hi(hhi, h);
  }
  const g = v128.shuffle<f32>(f32x4.demote_f64x2_zero(glo), f32x4.demote_f64x2_zero(ghi), 0, 1, 4, 5);
  const h = v128.shuffle<f32>(f32x4.demote_f64x2_zero(hlo), f32x4.demote_f64x2_zero(hhi), 0, 1, 4, 5);
  v128.store(dgamma + o, f32x4.add(v128.load(dgamma + o), h));
  v128.store(dbeta + o, f32x4.add(v128.load(dbeta + o), g));
  if (dinp == 0) return;
  const nB = f64x2.splat(<f64>B);
  const gn = v128.shuffle<f32>(f32x4.demote_f64x2_zero(f64x2.div(glo, nB)), f32x4.demote_f64x2_zero(f64x2.div(ghi, nB)), 0, 1, 4, 5);
  const hn = v128.shuffle<f32>(f32x4.demote_f64x2_zero(f64x2.div(hlo, nB)), f32x4.demote_f64x2_zero(f64x2.div(hhi, nB)), 0, 1, 4, 5);
  const k = f32x4.mul(v128.load(gamma + o), is);
  const p = f32x4.mul(f32x4.mul(f32x4.neg(k), hn), is);
  const q = f32x4.mul(f32x4.neg(k), f32x4.add(gn, f32x4.mul(hn, sh)));
  for (let b = 0, pi = dinp + o, pd = dout + o, px = inp + o; b < B; b++, pi += step, pd += step, px += step) {
    v128.store(pi, f32x4.add(f32x4.mul(v128.load(pd), k), f32x4.add(f32x4.mul(v128.load(px), p), q)));
  }
}

/** Running statistics update and invstd of one channel (shared by both twins). */
// @ts-ignore: decorator
@inline function channelStats(c: i32, mean: f64, varSum: f64, n: i32, momentum: f64, eps: f64,
  invstd: usize, runMean: usize, runVar: usize): f32 {
  const variance = varSum / <f64>n;
  const is = <f32>(1 / Math.sqrt(variance + eps));
  const o = <usize>c << 2;
  store<f32>(invstd + o, is);
  const unbiased = n > 1 ? varSum / <f64>(n - 1) : variance;
  const rm = <f64>load<f32>(runMean + o);
  const rv = <f64>load<f32>(runVar + o);
  store<f32>(runMean + o, <f32>(rm + momentum * (mean - rm)));
  store<f32>(runVar + o, <f32>(rv + momentum * (unbiased - rv)));
  return is;
}

/** Evaluation's per-channel scale s = gamma / sqrt(runVar + eps) and shift beta - runMean s. */
// @ts-ignore: decorator
@inline function evalScale(c: i32, gamma: usize, runVar: usize, eps: f64): f32 {
  return <f32>(<f64>load<f32>(gamma + (<usize>c << 2)) / Math.sqrt(<f64>load<f32>(runVar + (<usize>c << 2)) + eps));
}

/**
 * y = batchnorm(inp) for channels [0, C); training: batch statistics (mean and invstd kept for the
 * backward, running statistics updated), else the running statistics (mean, invstd unused).
 */
export function batchnorm_forward(y: usize, mean: usize, inp: usize, gamma: usize, beta: usize, invstd: usize,
  runMean: usize, runVar: usize, B: i32, C: i32, HW: i32, ld: i32, momentum: f64, eps: f64, training: bool): void {
  const n = B * HW;
  let c = 0;
  if (HW == 1) {
    for (; c + 4 <= C; c += 4) {
      if (training) featuresForward4(y, mean, inp, gamma, beta, invstd, runMean, runVar, B, c, ld, momentum, eps);
      else featuresEval4(y, inp, gamma, beta, runMean, runVar, B, c, ld, eps);
    }
  }
  for (; c < C; c++) {
    const gm = load<f32>(gamma + (<usize>c << 2));
    const bt = load<f32>(beta + (<usize>c << 2));
    if (!training) {
      const s = evalScale(c, gamma, runVar, eps);
      const t = bt - load<f32>(runMean + (<usize>c << 2)) * s;
      for (let b = 0; b < B; b++) rowAffine(rowAt(y, b, c, HW, ld), rowAt(inp, b, c, HW, ld), HW, s, t);
      continue;
    }
    let sum: f64 = 0;
    for (let b = 0; b < B; b++) sum += <f64>rowSum(rowAt(inp, b, c, HW, ld), HW, 0, false);
    const mu = sum / <f64>n;
    const m = <f32>mu;
    let sq: f64 = 0;
    for (let b = 0; b < B; b++) sq += <f64>rowSum(rowAt(inp, b, c, HW, ld), HW, m, true);
    const is = channelStats(c, mu, sq, n, momentum, eps, invstd, runMean, runVar);
    store<f32>(mean + (<usize>c << 2), m);
    const k = gm * is;
    const t = bt - m * k;
    for (let b = 0; b < B; b++) rowAffine(rowAt(y, b, c, HW, ld), rowAt(inp, b, c, HW, ld), HW, k, t);
  }
}

/** dgamma, dbeta (+=) and dinp (null: skip; may alias dout) of channels [0, C) from the training forward's inp, mean, invstd. */
export function batchnorm_backward(dinp: usize, dgamma: usize, dbeta: usize, dout: usize, inp: usize, gamma: usize,
  mean: usize, invstd: usize, B: i32, C: i32, HW: i32, ld: i32): void {
  const n = B * HW;
  let c = 0;
  if (HW == 1) for (; c + 4 <= C; c += 4) featuresBackward4(dinp, dgamma, dbeta, dout, inp, gamma, mean, invstd, B, c, ld);
  for (; c < C; c++) {
    const is = load<f32>(invstd + (<usize>c << 2));
    const sh = -load<f32>(mean + (<usize>c << 2)) * is;
    let g: f64 = 0;
    let h: f64 = 0;
    for (let b = 0; b < B; b++) {
      const r = rowDots(rowAt(dout, b, c, HW, ld), rowAt(inp, b, c, HW, ld), HW, is, sh);
      g += <f64>f32x4.extract_lane(r, 0);
      h += <f64>f32x4.extract_lane(r, 1);
    }
    const o = <usize>c << 2;
    store<f32>(dgamma + o, load<f32>(dgamma + o) + <f32>h);
    store<f32>(dbeta + o, load<f32>(dbeta + o) + <f32>g);
    if (dinp == 0) continue;
    // dinp = k (dout - g/n - xhat h/n) = dout k + x p + q, with xhat = x is + sh: two multiply-adds
    const k = load<f32>(gamma + o) * is;
    const gn = <f32>(g / <f64>n);
    const hn = <f32>(h / <f64>n);
    const p = -k * hn * is;
    const q = -k * (gn + hn * sh);
    // last sample first (see the header)
    for (let b = B - 1; b >= 0; b--) rowDinp(rowAt(dinp, b, c, HW, ld), rowAt(dout, b, c, HW, ld), rowAt(inp, b, c, HW, ld), HW, k, p, q);
  }
}

/** Scalar twin of batchnorm_forward: every value added to the f64 totals in turn. */
export function batchnorm_forward_scalar(y: usize, mean: usize, inp: usize, gamma: usize, beta: usize, invstd: usize,
  runMean: usize, runVar: usize, B: i32, C: i32, HW: i32, ld: i32, momentum: f64, eps: f64, training: bool): void {
  const n = B * HW;
  for (let c = 0; c < C; c++) {
    const gm = load<f32>(gamma + (<usize>c << 2));
    const bt = load<f32>(beta + (<usize>c << 2));
    if (!training) {
      const s = evalScale(c, gamma, runVar, eps);
      const t = bt - load<f32>(runMean + (<usize>c << 2)) * s;
      for (let b = 0; b < B; b++) {
        for (let i = 0; i < HW; i++) {
          const o = <usize>i << 2;
          store<f32>(rowAt(y, b, c, HW, ld) + o, load<f32>(rowAt(inp, b, c, HW, ld) + o) * s + t);
        }
      }
      continue;
    }
    let sum: f64 = 0;
    for (let b = 0; b < B; b++) for (let i = 0; i < HW; i++) sum += <f64>load<f32>(rowAt(inp, b, c, HW, ld) + (<usize>i << 2));
    const mu = sum / <f64>n;
    const m = <f32>mu;
    let sq: f64 = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < HW; i++) {
        const d = load<f32>(rowAt(inp, b, c, HW, ld) + (<usize>i << 2)) - m;
        sq += <f64>(d * d);
      }
    }
    const is = channelStats(c, mu, sq, n, momentum, eps, invstd, runMean, runVar);
    store<f32>(mean + (<usize>c << 2), m);
    const k = gm * is;
    const t = bt - m * k;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < HW; i++) {
        const o = <usize>i << 2;
        store<f32>(rowAt(y, b, c, HW, ld) + o, load<f32>(rowAt(inp, b, c, HW, ld) + o) * k + t);
      }
    }
  }
}

/** Scalar twin of batchnorm_backward. */
export function batchnorm_backward_scalar(dinp: usize, dgamma: usize, dbeta: usize, dout: usize, inp: usize, gamma: usize,
  mean: usize, invstd: usize, B: i32, C: i32, HW: i32, ld: i32): void {
  const n = B * HW;
  for (let c = 0; c < C; c++) {
    const is = load<f32>(invstd + (<usize>c << 2));
    const sh = -load<f32>(mean + (<usize>c << 2)) * is;
    let g: f64 = 0;
    let h: f64 = 0;
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < HW; i++) {
        const o = <usize>i << 2;
        const d = load<f32>(rowAt(dout, b, c, HW, ld) + o);
        g += <f64>d;
        h += <f64>(d * (load<f32>(rowAt(inp, b, c, HW, ld) + o) * is + sh));
      }
    }
    const o = <usize>c << 2;
    store<f32>(dgamma + o, load<f32>(dgamma + o) + <f32>h);
    store<f32>(dbeta + o, load<f32>(dbeta + o) + <f32>g);
    if (dinp == 0) continue;
    const k = load<f32>(gamma + o) * load<f32>(invstd + o);
    const gn = <f32>(g / <f64>n);
    const hn = <f32>(h / <f64>n);
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < HW; i++) {
        const q = <usize>i << 2;
        const t = load<f32>(rowAt(dout, b, c, HW, ld) + q) - gn - (load<f32>(rowAt(inp, b, c, HW, ld) + q) * is + sh) * hn;
        store<f32>(rowAt(dinp, b, c, HW, ld) + q, k * t);
      }
    }
  }
}
