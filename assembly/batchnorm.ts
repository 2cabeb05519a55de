// Batch normalization over channels, forward and backward (SIMD, with a naive scalar twin).
//   inp, y, dout, dinp: (B, C, HW) with sample stride ld (floats): channel c of sample b is the HW
//   floats at b*ld + c*HW. A conv's output is (B, C, H*W); a dense layer's is (B, O, 1).
//   gamma, beta, mean, invstd, runMean, runVar, dgamma, dbeta: (C).
// Training (n = B*HW values per channel):
//   mean = sum x / n, var = sum (x - mean)^2 / n          (two passes: no cancellation)
//   invstd = 1 / sqrt(var + eps), xhat = (x - mean) invstd, y = gamma xhat + beta
//   runMean += momentum (mean - runMean), runVar += momentum (var n/(n-1) - runVar)   (PyTorch's)
// Evaluation: y = x s + (beta - runMean s), s = gamma / sqrt(runVar + eps).
// The forward keeps mean and invstd, not xhat: the backward recomputes xhat = x invstd - mean invstd
// from the forward's input, with the forward's operations (the same bits), saving a (B, C, HW) buffer.
// Backward, with g = sum dout, h = sum dout xhat over the channel:
//   dgamma += h, dbeta += g, dinp = gamma invstd (dout - g/n - xhat h/n)
// Every sum of a channel is taken in one fixed order (sample by sample; within a sample, four
// lanes over HW, added lanes 0+1+2+3, then the tail; each sample's sum added to an f64 total), and
// a channel is computed by one call only, so a split by channels gives the same bits. The scalar
// twin adds every value to the f64 total in turn: it agrees to rounding, not bits.

// @ts-ignore: decorator
@inline function rowAt(p: usize, b: i32, c: i32, HW: i32, ld: i32): usize {
  return p + ((<usize>b * <usize>ld + <usize>c * <usize>HW) << 2);
}

/** Sum of the n floats at p (minus m, squared, when sq), in the fixed order of the header. */
// @ts-ignore: decorator
@inline function rowSum(p: usize, n: i32, m: f32, sq: bool): f32 {
  const mv = f32x4.splat(m);
  let acc = f32x4.splat(0);
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) {
    const v = v128.load(p + i);
    if (sq) {
      const d = f32x4.sub(v, mv);
      acc = f32x4.add(acc, f32x4.mul(d, d));
    } else {
      acc = f32x4.add(acc, v);
    }
  }
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; i < end; i += 4) {
    const v = load<f32>(p + i);
    s += sq ? (v - m) * (v - m) : v;
  }
  return s;
}

/** Sum of dout and of dout*xhat over the n floats at pd, px (xhat = x a + s): the lanes of the result. */
// @ts-ignore: decorator
@inline function rowDots(pd: usize, px: usize, n: i32, a: f32, s: f32): v128 {
  const av = f32x4.splat(a), sv = f32x4.splat(s);
  let g = f32x4.splat(0);
  let h = f32x4.splat(0);
  const end = <usize>n << 2;
  let i: usize = 0;
  for (; i + 16 <= end; i += 16) {
    const d = v128.load(pd + i);
    g = f32x4.add(g, d);
    h = f32x4.add(h, f32x4.mul(d, f32x4.add(f32x4.mul(v128.load(px + i), av), sv)));
  }
  let gs = f32x4.extract_lane(g, 0) + f32x4.extract_lane(g, 1) + f32x4.extract_lane(g, 2) + f32x4.extract_lane(g, 3);
  let hs = f32x4.extract_lane(h, 0) + f32x4.extract_lane(h, 1) + f32x4.extract_lane(h, 2) + f32x4.extract_lane(h, 3);
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
  for (; i + 16 <= end; i += 16) v128.store(out + i, f32x4.add(f32x4.mul(v128.load(inp + i), av), bv));
  for (; i < end; i += 4) store<f32>(out + i, load<f32>(inp + i) * a + b);
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
  for (let c = 0; c < C; c++) {
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
    for (let b = 0; b < B; b++) {
      const yr = rowAt(y, b, c, HW, ld);
      rowAffine(yr, rowAt(inp, b, c, HW, ld), HW, is, -m * is); // xhat, then gamma xhat + beta in place
      rowAffine(yr, yr, HW, gm, bt);
    }
  }
}

/** dgamma, dbeta (+=) and dinp (null: skip; may alias dout) of channels [0, C) from the training forward's inp, mean, invstd. */
export function batchnorm_backward(dinp: usize, dgamma: usize, dbeta: usize, dout: usize, inp: usize, gamma: usize,
  mean: usize, invstd: usize, B: i32, C: i32, HW: i32, ld: i32): void {
  const n = B * HW;
  for (let c = 0; c < C; c++) {
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
    const k = load<f32>(gamma + o) * load<f32>(invstd + o);
    const gn = <f32>(g / <f64>n);
    const hn = <f32>(h / <f64>n);
    const kv = f32x4.splat(k), gv = f32x4.splat(gn), hv = f32x4.splat(hn), av = f32x4.splat(is), sv = f32x4.splat(sh);
    for (let b = 0; b < B; b++) {
      const pd = rowAt(dout, b, c, HW, ld), px = rowAt(inp, b, c, HW, ld), pi = rowAt(dinp, b, c, HW, ld);
      const end = <usize>HW << 2;
      let i: usize = 0;
      for (; i + 16 <= end; i += 16) {
        const xh = f32x4.add(f32x4.mul(v128.load(px + i), av), sv);
        const t = f32x4.sub(f32x4.sub(v128.load(pd + i), gv), f32x4.mul(xh, hv));
        v128.store(pi + i, f32x4.mul(kv, t));
      }
      for (; i < end; i += 4) store<f32>(pi + i, k * (load<f32>(pd + i) - gn - (load<f32>(px + i) * is + sh) * hn));
    }
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
    for (let b = 0; b < B; b++) {
      for (let i = 0; i < HW; i++) {
        const o = <usize>i << 2;
        const xh = load<f32>(rowAt(inp, b, c, HW, ld) + o) * is + -m * is;
        store<f32>(rowAt(y, b, c, HW, ld) + o, xh * gm + bt);
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
