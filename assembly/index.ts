// The kernel module: every export the host calls (src/engine/kernels.ts declares each one).
// Pointers are byte offsets into the host's shared memory; 0 stands for "none".
// Each SIMD kernel `name` has a naive scalar twin `name_scalar` with the same signature.

/** First byte the host may allocate from (after this module's static data). */
export function heap_base(): usize {
  return __heap_base;
}

export * from './gemm/gemm';
export * from './gemm/dot';
export * from './gemm/kblocked';
export * from './gemm/bias';
export { gemm_scratch_bytes } from './gemm/packed';
export * from './activation';
export * from './softmax_ce';
export * from './optimizer';
export * from './batch';
export * from './dropout';
export * from './conv/conv2d';
export * from './conv/scalar';
export { winograd_forward_fits, winograd_input_fits, winograd_weight_fits } from './conv/winograd';
export { single_forward_fits, single_weight_fits } from './conv/single';
export * from './pool';
export * from './batchnorm';
export * from './augment';
export * from './fill';
export * from './sparse';
