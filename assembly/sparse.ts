// The zero-skipping first dense layer. A network's first layer multiplies the data itself, and
// MNIST's pixels are 81% zeros: compressed to its nonzeros, an input row costs a fifth of the
// dense multiply-adds. See src/engine/ref/sparse.ts for the reference twins.
//   x (B,D) input rows; row b's nonzero columns and values, in column order, are idx and val
//   (i32, f32) at slots [start[b], start[b] + cnt[b]); W and dW are the layer's (O,D); y and dy
//   are (B,O). sparse_rows gives row b the slots from b*D; a cache of a whole data set packs the
//   rows one after the other (src/model/layers/sparse_dense.ts).
//   forward:  y[b,:]  = bias + sum over row b's nonzeros (k, v) of v * W[:,k]
//   backward: dW[:,k] += v * dy[b,:] for every nonzero (k, v) of row b, rows in order
// A nonzero's weights W[:,k] are a column of W, so the kernels work on wt (D,ldw), W transposed
// with rows padded to a multiple of 16 (sparse_pack): one nonzero is then one row of v128 loads.
// sparse_forward and sparse_weight_grad cover output units [j0, j0+jn): they transpose their rows
// of W (or dW) into a scratch wt of their own, use it, and (dW) transpose it back, so threads can
// split the units. A layer too narrow to split (the seed's 10 units) is packed once by the host
// instead; then threads split the forward by rows (sparse_forward_packed), and over 512 rows or
// more the weight gradient goes in fixed row blocks, each summed into a partial of its own that
// the host adds in order (sparse_weight_grad_blocks), as gemm's K-blocked path does: the blocks
// depend only on the row count, so any thread count gives the same bits.
//
// Same bits as the packed gemm (assembly/gemm/packed.ts): there every element is
//   s = 0 [+ bias]; for k = 0..K-1: s = s + a_k * b_k
// and a zero a_k leaves s as it was (s + ±0 = s, and s is never -0 here), so summing only the
// nonzeros, in the same column order and with the same madd, gives the same floats. The weight
// gradient likewise sums every dW element over the rows in order, as gemm's dyᵀ x does over k.

import { loadN, madd, storeN, transpose4 } from './simd';

/** Output vectors per pass of the forward: 5 accumulators and 5 loaded rows stay in registers
 * (V8 loads a pass's weights first, so more would spill to the stack). */
const FV = 5;
/** Output vectors per pass of the weight gradient (8 dy vectors held). */
const GV = 8;
/**
 * Output units per pass over the rows: their slice of wt (D x 32 floats, 100 KB for MNIST) stays in
 * L2 while the rows go by, where a wide layer's whole wt would not.
 */
const UNITS = 32;

/** Left-packing shuffles: for each 4-bit lane mask, the bytes of its set lanes first, in order. */
const PACK: usize = memory.data<u8>([
  128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 128, 128, 128, 128, 128, 128, 128, 128,
  8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 128, 128, 128, 128,
  12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 128, 128, 128, 128,
  8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128, 128, 128, 128, 128,
  0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 128, 128, 128, 128,
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
]);

/**
 * idx/val[s, s + cnt[b]) = the columns and values of row b's nonzeros (-0 counts as zero), where
 * start[b] = s = (b0 + b) * D: b0 is the first row's index in the batch (a thread's chunk).
 * Four columns at a time: a lane mask of the nonzeros picks a left-packing shuffle, and all four
 * lanes are stored at the write position, which then moves by the mask's popcount. The stores
 * stay inside the row's slot: before column k at most k nonzeros were written. Only 16 columns
 * of zeros in a row are skipped (an image's margins): inside a digit, whether 4 columns hold a
 * nonzero is a coin flip, and a mispredicted skip costs more than the two stores.
 */
export function sparse_rows(idx: usize, val: usize, start: usize, cnt: usize, x: usize, B: i32, D: i32,
  b0: i32): void {
  const lanes = i32x4(0, 1, 2, 3);
  const zero = f32x4.splat(0);
  const rowB = <usize>D << 2;
  for (let b = 0; b < B; b++) {
    const slot = (b0 + b) * D;
    const xr = x + <usize>b * rowB, ir = idx + (<usize>slot << 2), vr = val + (<usize>slot << 2);
    let n: usize = 0;
    let k = 0;
    for (; k + 16 <= D; k += 16) {
      const p = xr + (<usize>k << 2);
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      const m0 = i32x4.bitmask(f32x4.ne(v0, zero)), m1 = i32x4.bitmask(f32x4.ne(v1, zero));
      const m2 = i32x4.bitmask(f32x4.ne(v2, zero)), m3 = i32x4.bitmask(f32x4.ne(v3, zero));
      if ((m0 | m1 | m2 | m3) == 0) continue;
      const kv = i32x4.add(i32x4.splat(k), lanes);
      n = pack4(ir, vr, n, v0, kv, m0);
      n = pack4(ir, vr, n, v1, i32x4.add(kv, i32x4.splat(4)), m1);
      n = pack4(ir, vr, n, v2, i32x4.add(kv, i32x4.splat(8)), m2);
      n = pack4(ir, vr, n, v3, i32x4.add(kv, i32x4.splat(12)), m3);
    }
    for (; k + 4 <= D; k += 4) {
      const v = v128.load(xr + (<usize>k << 2));
      n = pack4(ir, vr, n, v, i32x4.add(i32x4.splat(k), lanes), i32x4.bitmask(f32x4.ne(v, zero)));
    }
    for (; k < D; k++) {
      const v = load<f32>(xr + (<usize>k << 2));
      if (v != 0) {
        store<i32>(ir + (n << 2), k);
        store<f32>(vr + (n << 2), v);
        n++;
      }
    }
    store<i32>(start + (<usize>b << 2), slot);
    store<i32>(cnt + (<usize>b << 2), <i32>n);
  }
}

/** Stores the lanes of v (columns kv) that mask m marks at slot n of the row; returns the next slot. */
// @ts-ignore: decorator
@inline function pack4(ir: usize, vr: usize, n: usize, v: v128, kv: v128, m: i32): usize {
  const sh = v128.load(PACK + (<usize>m << 4));
  v128.store(vr + (n << 2), i8x16.swizzle(v, sh));
  v128.store(ir + (n << 2), i8x16.swizzle(kv, sh));
  return n + <usize>popcnt(m);
}

/** Scalar twin of sparse_rows. */
export function sparse_rows_scalar(idx: usize, val: usize, start: usize, cnt: usize, x: usize, B: i32, D: i32,
  b0: i32): void {
  for (let b = 0; b < B; b++) {
    const slot = <usize>((b0 + b) * D);
    let n: usize = 0;
    for (let k = 0; k < D; k++) {
      const v = load<f32>(x + ((<usize>b * <usize>D + <usize>k) << 2));
      if (v != 0) {
        store<i32>(idx + ((slot + n) << 2), k);
        store<f32>(val + ((slot + n) << 2), v);
        n++;
      }
    }
    store<i32>(start + (<usize>b << 2), <i32>slot);
    store<i32>(cnt + (<usize>b << 2), <i32>n);
  }
}

/**
 * dst(C,ldd)[c, r] = src(R,lds)[r, c] for r < R, c < C: 4x4 blocks (four rows of src loaded as
 * v128s, shuffled, stored as four rows of dst), the edges one float at a time.
 */
function transpose(dst: usize, src: usize, R: i32, C: i32, lds: i32, ldd: i32): void {
  const sB = <usize>lds << 2, dB = <usize>ldd << 2;
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const s = src + (<usize>c << 2), d = dst + <usize>c * dB;
    let r = 0;
    for (; r + 4 <= R; r += 4) {
      const p = s + <usize>r * sB;
      transpose4(d + (<usize>r << 2), dB, p, p + sB, p + 2 * sB, p + 3 * sB);
    }
    for (; r < R; r++) {
      for (let i = 0; i < 4; i++) store<f32>(d + <usize>i * dB + (<usize>r << 2), load<f32>(s + <usize>r * sB + (<usize>i << 2)));
    }
  }
  for (; c < C; c++) {
    for (let r = 0; r < R; r++) store<f32>(dst + <usize>c * dB + (<usize>r << 2), load<f32>(src + <usize>r * sB + (<usize>c << 2)));
  }
}

/**
 * Forward of NV (1-8) output vectors of one row: columns [j, j + 4 NV) at wt, y and bias (already
 * offset by j), the last vector holding `last` valid lanes. NV is a constant at every call, so the
 * unused accumulators and branches compile away.
 */
// @ts-ignore: decorator
@inline function forwardBlock(NV: i32, last: i32, y: usize, ir: usize, vr: usize, n: usize, wt: usize,
  ldwB: usize, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  if (bias) {
    // 0 + bias, as the micro-kernel starts (bits equal for a -0 bias too)
    a0 = f32x4.add(a0, loadN(bias, NV == 1 ? last : 4));
    if (NV > 1) a1 = f32x4.add(a1, loadN(bias + 16, NV == 2 ? last : 4));
    if (NV > 2) a2 = f32x4.add(a2, loadN(bias + 32, NV == 3 ? last : 4));
    if (NV > 3) a3 = f32x4.add(a3, loadN(bias + 48, NV == 4 ? last : 4));
    if (NV > 4) a4 = f32x4.add(a4, loadN(bias + 64, NV == 5 ? last : 4));
    if (NV > 5) a5 = f32x4.add(a5, loadN(bias + 80, NV == 6 ? last : 4));
    if (NV > 6) a6 = f32x4.add(a6, loadN(bias + 96, NV == 7 ? last : 4));
    if (NV > 7) a7 = f32x4.add(a7, loadN(bias + 112, last));
  }
  for (let t: usize = 0; t < n; t++) {
    const x = v128.load32_splat(vr + (t << 2));
    const w = wt + <usize>load<i32>(ir + (t << 2)) * ldwB;
    a0 = madd(x, v128.load(w), a0);
    if (NV > 1) a1 = madd(x, v128.load(w, 16), a1);
    if (NV > 2) a2 = madd(x, v128.load(w, 32), a2);
    if (NV > 3) a3 = madd(x, v128.load(w, 48), a3);
    if (NV > 4) a4 = madd(x, v128.load(w, 64), a4);
    if (NV > 5) a5 = madd(x, v128.load(w, 80), a5);
    if (NV > 6) a6 = madd(x, v128.load(w, 96), a6);
    if (NV > 7) a7 = madd(x, v128.load(w, 112), a7);
  }
  storeN(y, a0, NV == 1 ? last : 4);
  if (NV > 1) storeN(y + 16, a1, NV == 2 ? last : 4);
  if (NV > 2) storeN(y + 32, a2, NV == 3 ? last : 4);
  if (NV > 3) storeN(y + 48, a3, NV == 4 ? last : 4);
  if (NV > 4) storeN(y + 64, a4, NV == 5 ? last : 4);
  if (NV > 5) storeN(y + 80, a5, NV == 6 ? last : 4);
  if (NV > 6) storeN(y + 96, a6, NV == 7 ? last : 4);
  if (NV > 7) storeN(y + 112, a7, last);
}

/** wt(D, sparse_ldw(O)) = W(O,D) transposed, rows padded: the layout both kernels read. */
export function sparse_pack(wt: usize, W: usize, O: i32, D: i32): void {
  transpose(wt, W, O, D, D, sparse_ldw(O));
}

/** W(O,D) = wt(D, sparse_ldw(O)) transposed back (the padding lanes are dropped). */
export function sparse_unpack(W: usize, wt: usize, O: i32, D: i32): void {
  transpose(W, wt, D, O, sparse_ldw(O), D);
}

/** Scalar twin of sparse_pack. */
export function sparse_pack_scalar(wt: usize, W: usize, O: i32, D: i32): void {
  const ldw = sparse_ldw(O);
  for (let o = 0; o < O; o++) {
    for (let k = 0; k < D; k++) store<f32>(wt + (<usize>(k * ldw + o) << 2), load<f32>(W + (<usize>(o * D + k) << 2)));
  }
}

/** Scalar twin of sparse_unpack. */
export function sparse_unpack_scalar(W: usize, wt: usize, O: i32, D: i32): void {
  const ldw = sparse_ldw(O);
  for (let o = 0; o < O; o++) {
    for (let k = 0; k < D; k++) store<f32>(W + (<usize>(o * D + k) << 2), load<f32>(wt + (<usize>(k * ldw + o) << 2)));
  }
}

/**
 * y(B,O) columns [j0, j0+jn) = bias + x W^T over the compressed rows, UNITS units at a time: their
 * rows of W packed into wt (this call's own scratch, D x sparse_ldw(jn) floats), then read back
 * row by row (forwardRows). j0 % 4 == 0.
 */
export function sparse_forward(y: usize, idx: usize, val: usize, start: usize, cnt: usize, W: usize, wt: usize,
  bias: usize, B: i32, D: i32, O: i32, j0: i32, jn: i32): void {
  for (let u = j0; u < j0 + jn; u += UNITS) {
    const n = min(UNITS, j0 + jn - u);
    sparse_pack(wt, W + <usize>u * (<usize>D << 2), n, D);
    forwardRows(y + (<usize>u << 2), idx, val, start, cnt, wt, bias ? bias + (<usize>u << 2) : 0, B, O, n);
  }
}

/** y(B,O) = bias + x W^T over the compressed rows, all O units, with W already packed in wt. */
export function sparse_forward_packed(y: usize, idx: usize, val: usize, start: usize, cnt: usize, wt: usize,
  bias: usize, B: i32, O: i32): void {
  forwardRows(y, idx, val, start, cnt, wt, bias, B, O, O);
}

/**
 * y columns [0, jn) of rows of stride O = bias + the row's nonzeros times packed wt(D, ldw(jn)): per
 * row, blocks of FV output vectors, one pass over the row's nonzeros each; the last block may end
 * in a partial vector. (Blocks of FV outside the rows would keep a block's slice of wt in L1,
 * but V8 then spills the accumulators.)
 */
function forwardRows(y: usize, idx: usize, val: usize, start: usize, cnt: usize, wt: usize, bias: usize,
  B: i32, O: i32, jn: i32): void {
  const ldwB = <usize>sparse_ldw(jn) << 2;
  for (let b = 0; b < B; b++) {
    const s = <usize>load<i32>(start + (<usize>b << 2)) << 2;
    const ir = idx + s, vr = val + s;
    const n = <usize>load<i32>(cnt + (<usize>b << 2));
    const yr = y + ((<usize>b * <usize>O) << 2);
    let j = 0;
    for (; j + 4 * FV <= jn; j += 4 * FV) {
      const o = <usize>j << 2;
      forwardBlock(FV, 4, yr + o, ir, vr, n, wt + o, ldwB, bias ? bias + o : 0);
    }
    const rest = jn - j;
    if (rest == 0) continue;
    const o = <usize>j << 2, nv = (rest + 3) >> 2, last = rest - 4 * (nv - 1);
    const bo = bias ? bias + o : 0;
    switch (nv) {
      case 1: forwardBlock(1, last, yr + o, ir, vr, n, wt + o, ldwB, bo); break;
      case 2: forwardBlock(2, last, yr + o, ir, vr, n, wt + o, ldwB, bo); break;
      case 3: forwardBlock(3, last, yr + o, ir, vr, n, wt + o, ldwB, bo); break;
      case 4: forwardBlock(4, last, yr + o, ir, vr, n, wt + o, ldwB, bo); break;
      default: forwardBlock(FV, last, yr + o, ir, vr, n, wt + o, ldwB, bo); break; // FV vectors, the last one partial
    }
  }
}

/** Scalar twin of sparse_forward (reads W directly; wt unused). */
export function sparse_forward_scalar(y: usize, idx: usize, val: usize, start: usize, cnt: usize, W: usize,
  wt: usize, bias: usize, B: i32, D: i32, O: i32, j0: i32, jn: i32): void {
  for (let b = 0; b < B; b++) {
    const s = <usize>load<i32>(start + (<usize>b << 2));
    const n = <usize>load<i32>(cnt + (<usize>b << 2));
    for (let o = j0; o < j0 + jn; o++) {
      let sum: f32 = 0;
      if (bias) sum += load<f32>(bias + (<usize>o << 2));
      for (let t: usize = 0; t < n; t++) {
        const k = <usize>load<i32>(idx + ((s + t) << 2));
        sum += load<f32>(val + ((s + t) << 2)) * load<f32>(W + ((<usize>o * <usize>D + k) << 2));
      }
      store<f32>(y + ((<usize>b * <usize>O + <usize>o) << 2), sum);
    }
  }
}

/** Scalar twin of sparse_forward_packed. */
export function sparse_forward_packed_scalar(y: usize, idx: usize, val: usize, start: usize, cnt: usize, wt: usize,
  bias: usize, B: i32, O: i32): void {
  const ldw = <usize>sparse_ldw(O);
  for (let b = 0; b < B; b++) {
    const s = <usize>load<i32>(start + (<usize>b << 2));
    const n = <usize>load<i32>(cnt + (<usize>b << 2));
    for (let o = 0; o < O; o++) {
      let sum: f32 = 0;
      if (bias) sum += load<f32>(bias + (<usize>o << 2));
      for (let t: usize = 0; t < n; t++) {
        const k = <usize>load<i32>(idx + ((s + t) << 2));
        sum += load<f32>(val + ((s + t) << 2)) * load<f32>(wt + ((k * ldw + <usize>o) << 2));
      }
      store<f32>(y + ((<usize>b * <usize>O + <usize>o) << 2), sum);
    }
  }
}

/**
 * Weight gradient of NV (1-8) output vectors for nonzero slots [0, n) of one row: dy's vectors
 * stay in registers (the last with `last` valid lanes, the rest read as zeros) while each
 * nonzero's dwt row segment is read, added to and written back.
 */
// @ts-ignore: decorator
@inline function gradBlock(NV: i32, last: i32, dwt: usize, ir: usize, vr: usize, n: usize, dy: usize,
  ldwB: usize): void {
  const d0 = loadN(dy, NV == 1 ? last : 4);
  const d1 = NV > 1 ? loadN(dy + 16, NV == 2 ? last : 4) : f32x4.splat(0);
  const d2 = NV > 2 ? loadN(dy + 32, NV == 3 ? last : 4) : f32x4.splat(0);
  const d3 = NV > 3 ? loadN(dy + 48, NV == 4 ? last : 4) : f32x4.splat(0);
  const d4 = NV > 4 ? loadN(dy + 64, NV == 5 ? last : 4) : f32x4.splat(0);
  const d5 = NV > 5 ? loadN(dy + 80, NV == 6 ? last : 4) : f32x4.splat(0);
  const d6 = NV > 6 ? loadN(dy + 96, NV == 7 ? last : 4) : f32x4.splat(0);
  const d7 = NV > 7 ? loadN(dy + 112, last) : f32x4.splat(0);
  for (let t: usize = 0; t < n; t++) {
    const x = v128.load32_splat(vr + (t << 2));
    const p = dwt + <usize>load<i32>(ir + (t << 2)) * ldwB;
    v128.store(p, madd(x, d0, v128.load(p)));
    if (NV > 1) v128.store(p, madd(x, d1, v128.load(p, 16)), 16);
    if (NV > 2) v128.store(p, madd(x, d2, v128.load(p, 32)), 32);
    if (NV > 3) v128.store(p, madd(x, d3, v128.load(p, 48)), 48);
    if (NV > 4) v128.store(p, madd(x, d4, v128.load(p, 64)), 64);
    if (NV > 5) v128.store(p, madd(x, d5, v128.load(p, 80)), 80);
    if (NV > 6) v128.store(p, madd(x, d6, v128.load(p, 96)), 96);
    if (NV > 7) v128.store(p, madd(x, d7, v128.load(p, 112)), 112);
  }
}

/**
 * dW(O,D) rows [j0, j0+jn) += dy^T x over the compressed rows, rows in order, UNITS units at a time
 * through wt (this call's own scratch, D x sparse_ldw(jn) floats): their rows of dW are packed,
 * get the products added (gradRows) and are unpacked. The padding lanes of a partial last vector
 * only ever get zeros added. j0 % 4 == 0.
 */
export function sparse_weight_grad(dW: usize, idx: usize, val: usize, start: usize, cnt: usize, dy: usize,
  wt: usize, B: i32, D: i32, O: i32, j0: i32, jn: i32): void {
  for (let u = j0; u < j0 + jn; u += UNITS) {
    const n = min(UNITS, j0 + jn - u), dWu = dW + <usize>u * (<usize>D << 2);
    sparse_pack(wt, dWu, n, D);
    gradRows(wt, idx, val, start, cnt, dy + (<usize>u << 2), B, O, n);
    sparse_unpack(dWu, wt, n, D);
  }
}

/**
 * Row blocks [q0, q0+nq) of a narrow layer's weight gradient: block q, rows [q rb, (q+1) rb) of B,
 * sums its rows' products in order into its own packed partial (D x sparse_ldw(O) floats from
 * p + q D sparse_ldw(O) floats), from zero. The host adds the partials to the packed dW in block
 * order (sum_partials).
 */
export function sparse_weight_grad_blocks(p: usize, idx: usize, val: usize, start: usize, cnt: usize, dy: usize,
  B: i32, D: i32, O: i32, rb: i32, q0: i32, nq: i32): void {
  const size = (<usize>D * <usize>sparse_ldw(O)) << 2;
  for (let q = q0; q < q0 + nq; q++) {
    const part = p + <usize>q * size, r0 = q * rb;
    memory.fill(part, 0, size);
    if (r0 < B) {
      gradRows(part, idx, val, start + (<usize>r0 << 2), cnt + (<usize>r0 << 2), dy + ((<usize>r0 * <usize>O) << 2),
        min(rb, B - r0), O, O);
    }
  }
}

/**
 * Packed wt(D, ldw(jn)) += the products of dy columns [0, jn) (rows of stride O) and each row's
 * nonzeros, rows in order, blocks of GV output vectors per row.
 */
function gradRows(wt: usize, idx: usize, val: usize, start: usize, cnt: usize, dy: usize, B: i32, O: i32,
  jn: i32): void {
  const ldwB = <usize>sparse_ldw(jn) << 2;
  for (let b = 0; b < B; b++) {
    const s = <usize>load<i32>(start + (<usize>b << 2)) << 2;
    const ir = idx + s, vr = val + s;
    const n = <usize>load<i32>(cnt + (<usize>b << 2));
    const dyr = dy + ((<usize>b * <usize>O) << 2);
    let j = 0;
    for (; j + 4 * GV <= jn; j += 4 * GV) {
      const o = <usize>j << 2;
      gradBlock(GV, 4, wt + o, ir, vr, n, dyr + o, ldwB);
    }
    const rest = jn - j;
    if (rest == 0) continue;
    const o = <usize>j << 2, nv = (rest + 3) >> 2, last = rest - 4 * (nv - 1);
    switch (nv) {
      case 1: gradBlock(1, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      case 2: gradBlock(2, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      case 3: gradBlock(3, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      case 4: gradBlock(4, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      case 5: gradBlock(5, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      case 6: gradBlock(6, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      case 7: gradBlock(7, last, wt + o, ir, vr, n, dyr + o, ldwB); break;
      default: gradBlock(GV, last, wt + o, ir, vr, n, dyr + o, ldwB); break; // GV vectors, the last one partial
    }
  }
}

/** Scalar twin of sparse_weight_grad (adds into dW directly; wt unused). */
export function sparse_weight_grad_scalar(dW: usize, idx: usize, val: usize, start: usize, cnt: usize, dy: usize,
  wt: usize, B: i32, D: i32, O: i32, j0: i32, jn: i32): void {
  for (let b = 0; b < B; b++) {
    const s = <usize>load<i32>(start + (<usize>b << 2));
    const n = <usize>load<i32>(cnt + (<usize>b << 2));
    for (let t: usize = 0; t < n; t++) {
      const k = <usize>load<i32>(idx + ((s + t) << 2));
      const v = load<f32>(val + ((s + t) << 2));
      for (let o = j0; o < j0 + jn; o++) {
        const p = dW + ((<usize>o * <usize>D + k) << 2);
        store<f32>(p, load<f32>(p) + v * load<f32>(dy + ((<usize>b * <usize>O + <usize>o) << 2)));
      }
    }
  }
}

/** Scalar twin of sparse_weight_grad_blocks. */
export function sparse_weight_grad_blocks_scalar(p: usize, idx: usize, val: usize, start: usize, cnt: usize,
  dy: usize, B: i32, D: i32, O: i32, rb: i32, q0: i32, nq: i32): void {
  const ldw = <usize>sparse_ldw(O);
  for (let q = q0; q < q0 + nq; q++) {
    const part = p + ((<usize>q * <usize>D * ldw) << 2);
    for (let i: usize = 0; i < <usize>D * ldw; i++) store<f32>(part + (i << 2), 0);
    for (let b = q * rb; b < min(B, (q + 1) * rb); b++) {
      const s = <usize>load<i32>(start + (<usize>b << 2));
      const n = <usize>load<i32>(cnt + (<usize>b << 2));
      for (let t: usize = 0; t < n; t++) {
        const k = <usize>load<i32>(idx + ((s + t) << 2));
        const v = load<f32>(val + ((s + t) << 2));
        for (let o = 0; o < O; o++) {
          const w = part + ((k * ldw + <usize>o) << 2);
          store<f32>(w, load<f32>(w) + v * load<f32>(dy + ((<usize>b * <usize>O + <usize>o) << 2)));
        }
      }
    }
  }
}

/**
 * Row stride of a call's wt scratch for n output units: whole 64-byte lines. The host gives each
 * call D * sparse_ldw(n) floats of its own: threads' scratches never share a line (a matrix shared by
 * column ranges is slower on 2 threads than on one: the prefetchers pull the neighbour's lines).
 */
export function sparse_ldw(n: i32): i32 {
  return (n + 15) & ~15;
}
