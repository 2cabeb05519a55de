// What a run does when the outside world intervenes: a stop signal (Ctrl-C's SIGINT, and SIGTERM,
// which kill, systemd and `docker stop` send; SIGHUP when the terminal closes) finishes the step,
// saves a checkpoint and exits 130, a second one exits at once; and a closed stdout or stderr
// (`| head -1`, a closed terminal) never stops the work: what cannot be printed is dropped.
export type StopSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const STOP_SIGNALS: StopSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Exit code of a run stopped by a signal (documented: 130, interrupted). */
export const INTERRUPTED = 130;

/**
 * Calls onStop(signal) at the first stop signal; a second one exits at once with INTERRUPTED.
 * Returns a function that restores the default handling.
 */
export function onStopSignals(onStop: (signal: StopSignal) => void): () => void {
  let stopping = false;
  const handler = (signal: StopSignal) => {
    if (stopping) process.exit(INTERRUPTED);
    stopping = true;
    onStop(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => { for (const s of STOP_SIGNALS) process.off(s, handler); };
}

/** The line printed when a stop signal arrives. */
export function stopNotice(signal: StopSignal): string {
  const again = signal === 'SIGINT' ? 'Ctrl-C again' : `another ${signal}`;
  return `${signal === 'SIGINT' ? '' : `${signal} received. `}Stopping after this step and saving a checkpoint (${again} quits without saving)...`;
}

/**
 * Output errors never stop the process: a write to a closed pipe (EPIPE) or terminal (EIO) is
 * dropped, and so is everything written to that stream afterwards. Training goes on and writes
 * its run folder; the exit code is the run's own.
 */
export function guardOutputStreams(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => { /* the reader is gone: drop it */ });
  }
}
