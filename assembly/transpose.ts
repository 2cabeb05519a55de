// Transpose of a row-major matrix: dst(C,ldd)[c,r] = src(R,lds)[r,c]. The zero-skipping first
// layer (sparse.ts) works on the transposed weight and gradient, whose rows are the input columns.
// 4x4 blocks: four rows of src loaded as v128s, shuffled, stored as four rows of dst.

/** (x0,y0,x1,y1) and (x2,y2,x3,y3): the halves of a 4x4 transpose's first stage. */
// @ts-ignore: decorator
@inline function lo(x: v128, y: v128): v128 { return v128.shuffle<i32>(x, y, 0, 4, 1, 5); }
// @ts-ignore: decorator
@inline function hi(x: v128, y: v128): v128 { return v128.shuffle<i32>(x, y, 2, 6, 3, 7); }

/**
 * dst(C,ldd)[c, r] = src(R,lds)[r, c] for r < R, c < C. Threads split C (rows of dst) in multiples
 * of 4: each chunk's dst rows and src columns are its own.
 */
export function transpose(dst: usize, src: usize, R: i32, C: i32, lds: i32, ldd: i32): void {
  const sB = <usize>lds << 2, dB = <usize>ldd << 2;
  let c = 0;
  for (; c + 4 <= C; c += 4) {
    const s = src + (<usize>c << 2), d = dst + <usize>c * dB;
    let r = 0;
    for (; r + 4 <= R; r += 4) {
      const p = s + <usize>r * sB, q = d + (<usize>r << 2);
      const x0 = v128.load(p), x1 = v128.load(p + sB), x2 = v128.load(p + 2 * sB), x3 = v128.load(p + 3 * sB);
      const t0 = lo(x0, x1), t1 = lo(x2, x3), t2 = hi(x0, x1), t3 = hi(x2, x3);
      v128.store(q, v128.shuffle<i64>(t0, t1, 0, 2));
      v128.store(q + dB, v128.shuffle<i64>(t0, t1, 1, 3));
      v128.store(q + 2 * dB, v128.shuffle<i64>(t2, t3, 0, 2));
      v128.store(q + 3 * dB, v128.shuffle<i64>(t2, t3, 1, 3));
    }
    for (; r < R; r++) {
      for (let i = 0; i < 4; i++) {
        store<f32>(d + <usize>i * dB + (<usize>r << 2), load<f32>(s + <usize>r * sB + (<usize>i << 2)));
      }
    }
  }
  for (; c < C; c++) {
    for (let r = 0; r < R; r++) {
      store<f32>(dst + <usize>c * dB + (<usize>r << 2), load<f32>(src + <usize>r * sB + (<usize>c << 2)));
    }
  }
}

/** Scalar twin of transpose. */
export function transpose_scalar(dst: usize, src: usize, R: i32, C: i32, lds: i32, ldd: i32): void {
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      store<f32>(dst + ((<usize>c * <usize>ldd + <usize>r) << 2), load<f32>(src + ((<usize>r * <usize>lds + <usize>c) << 2)));
    }
  }
}
