// Shared shapes of the benchmark: a case (what to run on one backend), a timed result, and the
// rows the optional peer comparison (bench/peers.ts, --peers) returns.
import type { Backend } from '../src/engine/backend.js';

/** One prepared instance of a case on one backend: inputs live in that backend's memory. */
export interface Instance {
  /** One call of the kernel (or one training step). */
  run(): void;
  /** Copies of the outputs after one run() from the prepared state, for verification. */
  outputs(): ArrayLike<number>[];
}

export interface Case {
  /** Table section: matmul, activation, loss, optimizer, batch, dropout, step. */
  group: string;
  /** Short, unique label, e.g. "gemm fwd 128x784x128". */
  name: string;
  /** Floating-point operations of one run, where defined (2MNK for gemm). */
  flops?: number;
  /** Bytes one run must move at least (inputs read once, outputs written once), for memory-bound cases. */
  bytes?: number;
  /** Tolerance of outputs against ts-ref: |got - want| <= atol + rtol |want|. */
  atol: number;
  rtol: number;
  /** Backends to leave out (ts-fast only differs from ts-ref in gemm), with the reason. */
  skip?(backend: string, quick: boolean): string | null;
  /** Allocates and fills the inputs in be's memory (seeded), ready to run. */
  setup(be: Backend): Instance;
}

export interface Timing {
  /** Seconds per run. */
  median: number;
  min: number;
  max: number;
  samples: number;
}

export interface Row {
  group: string;
  case: string;
  backend: string;
  status: 'ok' | 'NOT OK' | 'missing' | 'skipped' | 'error';
  maxDiff?: number;
  note?: string;
  /** Seconds of the first, cold call (V8's baseline compiler for WASM), reported apart. */
  first?: number;
  timing?: Timing;
  gflops?: number;
  /** bytes / median, in GB/s. */
  gbps?: number;
  vsRef?: number;
  vsFast?: number;
}

/** What bench/peers.ts returns for each measurement (TensorFlow.js and the like). */
export interface PeerRow {
  /** Peer and backend, e.g. "tfjs-wasm". */
  peer: string;
  /** What was measured, named like our cases where they match ("gemm fwd 128x784x128"). */
  case: string;
  /** Seconds per run. */
  median: number;
  min?: number;
  max?: number;
  gflops?: number;
  note?: string;
}
