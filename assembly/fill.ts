// Zeroing a float buffer (the gradient arena before each step's backward). From JavaScript,
// Float32Array.fill on the shared WASM memory takes V8's slow element-by-element path; memory.fill
// is one bulk op.

/** x(N) = 0. */
export function fill_zero(x: usize, N: i32): void {
  if (N > 0) memory.fill(x, 0, <usize>N << 2);
}

/** Scalar twin of fill_zero: one float at a time. */
export function fill_zero_scalar(x: usize, N: i32): void {
  for (let i = 0; i < N; i++) store<f32>(x + (<usize>i << 2), 0);
}
