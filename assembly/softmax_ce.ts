// Output layer: softmax, fused softmax + cross-entropy, and the count of correct predictions.
// logits, probs, dlogits are (B,C) f32 row-major; labels is (B) i32 with 0 <= label < C (a label
// out of range gives a NaN loss; the caller should check labels against C up front).
// For one row z with label t and m = max_j z_j:
//   p_j = e^(z_j - m) / s,  s = sum_j e^(z_j - m),  loss = log s - (z_t - m),
//   d(mean loss)/dz_j = (p_j - [j == t]) / N   (the mean over N rows; N = B for one batch).
// Subtracting m keeps every exponent <= 0, so logits of +-1000 give finite loss and gradients.
// A row's last C % 4 values go through the vector code too, as one vector loaded and stored lane
// by lane (never past the row) whose lanes past the row are masked out.
// See src/engine/ref/softmax_ce.ts.
import { exp4 } from './simd_math';
import { hmax4, hsum02_13, storeN } from './simd';

/** The r = 1..3 floats at p in lanes 0..r-1, fill in the others. */
// @ts-ignore: decorator
@inline function loadTail(p: usize, r: usize, fill: v128): v128 {
  let v = fill;
  v = v128.load32_lane(p, v, 0);
  if (r > 1) v = v128.load32_lane(p, v, 1, 4);
  if (r > 2) v = v128.load32_lane(p, v, 2, 8);
  return v;
}

// @ts-ignore: decorator
@inline function rowMax(z: usize, C: i32): f32 {
  const n = <usize>C << 2;
  let j: usize = 0;
  let m: f32 = -Infinity;
  if (n >= 16) {
    let mv = v128.load(z);
    for (j = 16; j + 16 <= n; j += 16) mv = f32x4.max(mv, v128.load(z + j));
    m = hmax4(mv);
  }
  for (; j < n; j += 4) m = max(m, load<f32>(z + j));
  return m;
}

/** Writes e^(z_j - m) into e (may be 0 = nowhere) and returns their sum. */
// @ts-ignore: decorator
@inline function rowExp(e: usize, z: usize, C: i32, m: f32): f32 {
  const n = <usize>C << 2;
  const full = n & ~(<usize>15);
  const mv = f32x4.splat(m);
  let sv = f32x4.splat(0);
  for (let j: usize = 0; j < full; j += 16) {
    const ev = exp4(f32x4.sub(v128.load(z + j), mv));
    if (e) v128.store(e + j, ev);
    sv = f32x4.add(sv, ev);
  }
  if (full < n) {
    const r = (n - full) >> 2;
    // lanes past the row hold m: e^0 = 1, then masked to 0 (padding with -inf instead would
    // make exp4 build 2^-126 * e^r, a subnormal product, which is slow on x64)
    const ev = v128.and(exp4(f32x4.sub(loadTail(z + full, r, mv), mv)), i32x4.lt_s(i32x4(0, 1, 2, 3), i32x4.splat(<i32>r)));
    if (e) storeN(e + full, ev, <i32>r);
    sv = f32x4.add(sv, ev);
  }
  return hsum02_13(sv);
}

/** probs(B,C) = softmax of each row of logits(B,C); probs may alias logits. */
export function softmax_forward(probs: usize, logits: usize, B: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  const n = rowBytes;
  const full = n & ~(<usize>15);
  for (let b = 0; b < B; b++) {
    const z = logits + <usize>b * rowBytes;
    const p = probs + <usize>b * rowBytes;
    const s = rowExp(p, z, C, rowMax(z, C));
    const sv = f32x4.splat(s);
    for (let j: usize = 0; j < full; j += 16) v128.store(p + j, f32x4.div(v128.load(p + j), sv));
    for (let j = full; j < n; j += 4) store<f32>(p + j, load<f32>(p + j) / s);
  }
}

// Rows whose sums s go into one product before a log: 1 <= s <= C, so 8 of them stay below
// C^8 <= 2^248 for any i32 C, and one Math.log serves 8 rows (the log was a third of the kernel).
// The loss is summed group by group (see softmax_cross_entropy).
const LOG_GROUP = 8;

/**
 * Sum over rows of -log softmax(logits)[label], as the sum in order of the losses of groups of
 * LOG_GROUP rows (so that threads can take whole groups, write them to `parts`, and the host adds
 * them up to the same f64: src/engine/wasm.ts softmaxCrossEntropy). parts (0 = none) gets each group's
 * loss (f64). dlogits(B,C) (0 = none) gets (p - onehot) / N: the gradient of the mean over N rows
 * (N = B for one batch; a full batch done in chunks passes its size, so no chunk needs
 * rescaling). correct (0 = none) gets the count_correct of these rows, from the row maxima this
 * loop finds anyway.
 */
export function softmax_cross_entropy(dlogits: usize, logits: usize, labels: usize, B: i32, C: i32, N: i32,
  correct: usize, parts: usize): f64 {
  const rowBytes = <usize>C << 2;
  const n = rowBytes;
  const full = n & ~(<usize>15);
  const invN: f32 = <f32>1 / <f32>N;
  const one = f32x4.splat(1);
  let total: f64 = 0;   // sum of the groups' losses
  let zSum: f64 = 0;    // sum of z_t - m over the group
  let prod: f64 = 1;    // product of the s of the group's rows
  let hits = 0;
  for (let b = 0; b < B; b++) {
    const z = logits + <usize>b * rowBytes;
    const d = dlogits ? dlogits + <usize>b * rowBytes : 0;
    const t = load<i32>(labels + (<usize>b << 2));
    // a label outside 0..C-1 makes the loss NaN instead of reading another row's logit
    const zt = <u32>t < <u32>C ? load<f32>(z + (<usize>t << 2)) : NaN; // read before d (may alias z)
    const m = rowMax(z, C);
    if (correct && firstMax(z, C, m) == t) hits++; // also before d
    const s = rowExp(d, z, C, m);
    zSum += <f64>(zt - m);
    prod *= <f64>s;
    if (b % LOG_GROUP == LOG_GROUP - 1 || b == B - 1) {
      const g = Math.log(prod) - zSum;
      if (parts) store<f64>(parts + (<usize>(b / LOG_GROUP) << 3), g);
      total += g;
      prod = 1;
      zSum = 0;
    }
    if (d) {
      // d holds e^(z - m): (e / s - onehot) / N as e * (1/(s N)) - onehot / N, one multiply and
      // one subtract a vector; the one-hot lane is where lane index == t (an index vector).
      const rv = f32x4.splat(invN / s);
      const hv = f32x4.splat(invN);
      const tv = i32x4.splat(t);
      let idx = i32x4(0, 1, 2, 3);
      for (let j: usize = 0; j < full; j += 16) {
        const hot = v128.and(hv, i32x4.eq(idx, tv));
        v128.store(d + j, f32x4.sub(f32x4.mul(v128.load(d + j), rv), hot));
        idx = i32x4.add(idx, i32x4.splat(4));
      }
      if (full < n) {
        const r = (n - full) >> 2;
        const hot = v128.and(hv, i32x4.eq(idx, tv));
        storeN(d + full, f32x4.sub(f32x4.mul(loadTail(d + full, r, one), rv), hot), <i32>r);
      }
    }
  }
  if (correct) store<i32>(correct, hits);
  return total;
}

/**
 * Index of the first maximum of row z, given m = rowMax: the first lane equal to m. A row with a
 * NaN has m = NaN and no lane equal to it; it is scanned like the reference instead.
 */
// @ts-ignore: decorator
@inline function firstMax(z: usize, C: i32, m: f32): i32 {
  const n = <usize>C << 2;
  const full = n & ~(<usize>15);
  const mv = f32x4.splat(m);
  for (let j: usize = 0; j < full; j += 16) {
    const hit = i32x4.bitmask(f32x4.eq(v128.load(z + j), mv));
    if (hit) return <i32>(j >> 2) + ctz(hit);
  }
  if (full < n) {
    const hit = i32x4.bitmask(f32x4.eq(loadTail(z + full, (n - full) >> 2, f32x4.splat(NaN)), mv));
    if (hit) return <i32>(full >> 2) + ctz(hit);
  }
  return argmaxScalar(z, C);
}

/** Number of rows of logits(B,C) whose first maximum sits at labels(B). */
export function count_correct(logits: usize, labels: usize, B: i32, C: i32): i32 {
  const rowBytes = <usize>C << 2;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    const z = logits + <usize>b * rowBytes;
    if (firstMax(z, C, rowMax(z, C)) == load<i32>(labels + (<usize>b << 2))) correct++;
  }
  return correct;
}

function argmaxScalar(z: usize, C: i32): i32 {
  let best = 0;
  for (let j = 1; j < C; j++) {
    if (load<f32>(z + (<usize>j << 2)) > load<f32>(z + (<usize>best << 2))) best = j;
  }
  return best;
}

/** Scalar twin of softmax_forward, with Mathf.exp. */
export function softmax_forward_scalar(probs: usize, logits: usize, B: i32, C: i32): void {
  for (let b = 0; b < B; b++) {
    const row = <usize>b * <usize>C;
    let m: f32 = -Infinity;
    for (let j = 0; j < C; j++) m = max(m, load<f32>(logits + ((row + j) << 2)));
    let s: f32 = 0;
    for (let j = 0; j < C; j++) {
      const e = Mathf.exp(load<f32>(logits + ((row + j) << 2)) - m);
      store<f32>(probs + ((row + j) << 2), e);
      s += e;
    }
    for (let j = 0; j < C; j++) store<f32>(probs + ((row + j) << 2), load<f32>(probs + ((row + j) << 2)) / s);
  }
}

/** Scalar twin of softmax_cross_entropy. */
export function softmax_cross_entropy_scalar(dlogits: usize, logits: usize, labels: usize, B: i32,
  C: i32, N: i32, correct: usize, parts: usize): f64 {
  if (correct) store<i32>(correct, count_correct_scalar(logits, labels, B, C)); // before d (may alias)
  let total: f64 = 0;
  let group: f64 = 0;
  for (let b = 0; b < B; b++) {
    const row = <usize>b * <usize>C;
    const t = load<i32>(labels + (<usize>b << 2));
    let m: f32 = -Infinity;
    for (let j = 0; j < C; j++) m = max(m, load<f32>(logits + ((row + j) << 2)));
    let s: f32 = 0;
    for (let j = 0; j < C; j++) s += Mathf.exp(load<f32>(logits + ((row + j) << 2)) - m);
    const zt = <u32>t < <u32>C ? load<f32>(logits + ((row + t) << 2)) : NaN; // bad label: NaN loss
    group += Math.log(<f64>s) - <f64>(zt - m);
    if (b % LOG_GROUP == LOG_GROUP - 1 || b == B - 1) {
      if (parts) store<f64>(parts + (<usize>(b / LOG_GROUP) << 3), group);
      total += group;
      group = 0;
    }
    // (dlogits may alias logits: every e^ is read before its own element is overwritten)
    if (dlogits) {
      for (let j = 0; j < C; j++) {
        const p = Mathf.exp(load<f32>(logits + ((row + j) << 2)) - m) / s;
        store<f32>(dlogits + ((row + j) << 2), (p - (j == t ? 1 : 0)) / <f32>N);
      }
    }
  }
  return total;
}

/** Scalar twin of count_correct. */
export function count_correct_scalar(logits: usize, labels: usize, B: i32, C: i32): i32 {
  let correct = 0;
  for (let b = 0; b < B; b++) {
    if (argmaxScalar(logits + <usize>b * (<usize>C << 2), C) == load<i32>(labels + (<usize>b << 2))) correct++;
  }
  return correct;
}
