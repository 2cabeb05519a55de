// Layout of the pool's command block: one SharedArrayBuffer, a header and one slot per worker.
//
//   byte 0                       header: i32 PENDING = workers still running the current call
//   HEADER_BYTES + w*SLOT_BYTES  slot of worker w (0-based; the main thread has no slot)
//     i32 [0] SEQ     bumped by the main thread to start a command; the worker waits on it
//     i32 [1] FN      index of the kernel in the pool's name list; -1 = stop
//     i32 [2] NARGS   number of arguments
//     i32 [3] STATUS  0 ok, 1 the kernel threw (trap), 2 the worker could not start
//     i32 [4] MSGLEN  bytes of the UTF-8 error message
//     i32 [5] READY   1 once the worker has instantiated the module (or failed to)
//     f64 at ARGS_OFFSET: up to MAX_ARGS arguments (f64 holds every i32, u32 and f32 exactly)
//     u8 at MSG_OFFSET: the error message, at most MSG_BYTES
// Slots are 1 KiB apart, so no two workers' words share a cache line.
// Kept apart from the kernels' WebAssembly.Memory so a kernel writing out of bounds of its
// buffers cannot corrupt the protocol.

export const LAYOUT = {
  HEADER_BYTES: 128,
  SLOT_BYTES: 1024,
  PENDING: 0,
  SEQ: 0,
  FN: 1,
  NARGS: 2,
  STATUS: 3,
  MSGLEN: 4,
  READY: 5,
  ARGS_OFFSET: 64,
  MAX_ARGS: 16,
  MSG_OFFSET: 256,
  MSG_BYTES: 768,
} as const;
