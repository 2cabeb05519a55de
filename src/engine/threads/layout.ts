// Layout of the pool's command block: one SharedArrayBuffer, a header describing the current call
// and one slot per worker. Hot words sit 64 bytes apart (one cache line each).
//
//   header
//     i32 @0    SEQ        bumped by the main thread to wake workers; they Atomics.wait on it
//     i32 @64   CLAIM      (gen << 16) | (next << 8) | count: chunk `next` of `count` is the next
//                          one to take; taking it is a compareExchange of the whole word
//     i32 @128  DONE       chunks finished; the main thread Atomics.waits on it
//     i32 @192  FN, NARGS, COUNT_ARG, SCRATCH_ARG, CHUNK_LEN, TOTAL, STOP, WRAP_ARG, READY (in
//               order); READY counts the workers that have started (or failed to)
//     f64 @256  BASE[16]   arguments of the call for the range starting at 0
//     f64 @384  COEF[16]   how each argument moves per element of the range: chunk [s, e) is
//                          called with BASE[i] + s * COEF[i], and e - s in place of COUNT_ARG;
//                          argument WRAP_ARG (a u32 seed) is (BASE + imul(s, COEF)) mod 2^32 instead
//   slot w at HEADER_BYTES + w * SLOT_BYTES (0-based; the main thread has none)
//     i32 +0 STATUS  0 ok, 1 a kernel threw (trap), 2 the worker could not start
//     i32 +4 MSGLEN  bytes of the UTF-8 message at +64
//     f64 +8 SCRATCH this thread's value of the SCRATCH_ARG argument (its gemm packing buffer)
// Kept apart from the kernels' WebAssembly.Memory so a kernel writing out of bounds of its
// buffers cannot corrupt the protocol.

export const LAYOUT = {
  SEQ: 0,
  CLAIM: 16,
  DONE: 32,
  FN: 48,
  NARGS: 49,
  COUNT_ARG: 50,
  SCRATCH_ARG: 51,
  CHUNK_LEN: 52,
  TOTAL: 53,
  STOP: 54,
  WRAP_ARG: 55,
  READY: 56,
  BASE: 32,      // f64 index (byte 256)
  COEF: 48,      // f64 index (byte 384)
  MAX_ARGS: 16,
  MAX_CHUNKS: 255,
  HEADER_BYTES: 512,
  SLOT_BYTES: 1024,
  STATUS: 0,     // i32 index within a slot
  MSGLEN: 1,
  SCRATCH: 1,    // f64 index within a slot
  MSG_OFFSET: 64,
  MSG_BYTES: 960,
  // Not a word of the block: how long (ms) a thread spins on SEQ (workers) or DONE (the main
  // thread) before it sleeps in Atomics.wait; see pool.ts.
  SPIN_MS: 0.2,
} as const;
