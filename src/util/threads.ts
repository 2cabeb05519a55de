// How many worker threads a run may use: never more than the machine's cores. More threads than
// cores only wait for each other (results are the same bits for any count), and each one is a
// worker with its own WebAssembly instance and stacks: 500 of them took 3.9 GB, 9999 ran out of
// memory. So a larger request is clamped, with one line saying so, rather than refused.
import { cores } from '../platform/system.js';

/** The cores this process may run on. */
export function availableCores(): number {
  return cores();
}

/**
 * `requested` threads, or the core count when that is fewer; `note` receives one line when the
 * request was clamped (the CLI prints it on stderr).
 */
export function clampThreads(requested: number, note: (line: string) => void = () => {}, cores = availableCores()): number {
  if (requested <= cores) return requested;
  note(`note: --threads ${requested} is more than the ${cores} core${cores > 1 ? 's' : ''} here; using ${cores}`);
  return cores;
}
