/** dbias(O) += sum over the batch of dout(B,O); 16 columns at a time in four v128 sums. */
export function bias_backward(dbias: usize, dout: usize, B: i32, O: i32): void {
  const rowB = <usize>O << 2;
  let o = 0;
  for (; o + 16 <= O; o += 16) {
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let p = dout + (<usize>o << 2);
    for (let b = 0; b < B; b++) {
      s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p, 16));
      s2 = f32x4.add(s2, v128.load(p, 32)); s3 = f32x4.add(s3, v128.load(p, 48));
      p += rowB;
    }
    const d = dbias + (<usize>o << 2);
    v128.store(d, f32x4.add(v128.load(d), s0)); v128.store(d, f32x4.add(v128.load(d, 16), s1), 16);
    v128.store(d, f32x4.add(v128.load(d, 32), s2), 32); v128.store(d, f32x4.add(v128.load(d, 48), s3), 48);
  }
  for (; o + 4 <= O; o += 4) {
    let s = f32x4.splat(0);
    let p = dout + (<usize>o << 2);
    for (let b = 0; b < B; b++) { s = f32x4.add(s, v128.load(p)); p += rowB; }
    const d = dbias + (<usize>o << 2);
    v128.store(d, f32x4.add(v128.load(d), s));
  }
  for (; o < O; o++) {
    let s: f32 = 0;
    let p = dout + (<usize>o << 2);
    for (let b = 0; b < B; b++) { s += load<f32>(p); p += rowB; }
    const d = dbias + (<usize>o << 2);
    store<f32>(d, load<f32>(d) + s);
  }
}

/** Naive scalar twin of bias_backward. */
export function bias_backward_scalar(dbias: usize, dout: usize, B: i32, O: i32): void {
  for (let o = 0; o < O; o++) {
    let s: f32 = 0;
    for (let b = 0; b < B; b++) s += load<f32>(dout + ((<usize>b * O + o) << 2));
    const d = dbias + (<usize>o << 2);
    store<f32>(d, load<f32>(d) + s);
  }
}

