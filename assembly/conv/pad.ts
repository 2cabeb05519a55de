// Zero padding around channels-first images, shared by the stride-1 convolution kernels
// (assembly/conv2d.ts, assembly/winograd.ts). Not exported from the module.

/**
 * Copies src(C,H,W) into the interior of dst(C,Hp,Wp) at (pad, pad), clipped to dst; the border
 * is left as it is (the callers zero it once).
 */
export function copyPadded(dst: usize, src: usize, C: i32, H: i32, W: i32, pad: i32, Hp: i32, Wp: i32): void {
  const rows = min(H, Hp - pad), cols = <usize>min(W, Wp - pad) << 2;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < rows; y++) {
      memory.copy(dst + (<usize>((c * Hp + y + pad) * Wp + pad) << 2), src + (<usize>((c * H + y) * W) << 2), cols);
    }
  }
}
