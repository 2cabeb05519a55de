// Reference inverted dropout. Which units drop is a pure function of (seed, index): a counter-based
// hash, so the TS and WASM kernels (and any thread split) draw the same mask.
//   keep_i = hash(seed, i) / 2^24 >= p,  mask_i = keep_i / (1 - p),  out = inp * mask

/** lowbias32 (Chris Wellons' hash-prospector): a well-mixed 32-bit integer hash. */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** 24-bit uniform draw for unit i under seed; compared with p * 2^24 as integers. */
export function dropoutDraw(seed: number, i: number): number {
  return hash32((seed + Math.imul(i, 0x9e3779b9)) >>> 0) >>> 8;
}

export function dropoutForward(out: Float32Array, mask: Float32Array, inp: Float32Array, N: number,
  p: number, seed: number): void {
  const threshold = Math.floor(p * 16777216);
  const scale = Math.fround(1 / (1 - p));
  for (let i = 0; i < N; i++) {
    mask[i] = dropoutDraw(seed, i) >= threshold ? scale : 0;
    out[i] = inp[i] * mask[i];
  }
}

export function dropoutBackward(dinp: Float32Array, dout: Float32Array, mask: Float32Array,
  N: number): void {
  for (let i = 0; i < N; i++) dinp[i] = dout[i] * mask[i];
}
