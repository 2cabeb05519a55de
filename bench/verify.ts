// Step one of the benchmark: run every case once on every backend from the same seeded inputs
// and compare with ts-ref. Only what passes is timed; the line printed per check says why not.
import type { Backend } from '../src/engine/backend.js';
import type { Case, Instance, Row } from './types.js';

export interface Checked {
  row: Row;
  /** The prepared instance, kept for timing when the check passed. */
  inst?: Instance;
}

/** Largest |got - want| and whether all are within atol + rtol |want| (NaN fails). */
export function compareOutputs(got: ArrayLike<number>[], want: ArrayLike<number>[], atol: number, rtol: number) {
  let maxDiff = 0;
  let ok = got.length === want.length;
  for (let t = 0; t < want.length && ok; t++) {
    const g = got[t], w = want[t];
    if (g.length !== w.length) { ok = false; break; }
    for (let i = 0; i < w.length; i++) {
      const d = Math.abs(g[i] - w[i]);
      if (!(d <= atol + rtol * Math.abs(w[i]))) ok = false;
      maxDiff = Number.isNaN(d) ? Infinity : Math.max(maxDiff, d);
    }
  }
  return { ok, maxDiff };
}

/** A backend without this kernel yet (its WASM export is absent). */
function isMissing(e: unknown): boolean {
  return e instanceof TypeError && /is not a function/.test(e.message);
}

/** Runs c once on each backend (backends[0] is ts-ref, the oracle) and checks the outputs. */
export function verifyCase(c: Case, backends: Backend[], labels: string[], quick: boolean): Checked[] {
  const base: Omit<Row, 'backend' | 'status'> = { group: c.group, case: c.name };
  const out: Checked[] = [];
  let want: ArrayLike<number>[] | null = null;
  let refError = '';
  backends.forEach((be, k) => {
    const backend = labels[k];
    const skip = c.skip?.(backend, quick) ?? null;
    if (skip) { out.push({ row: { ...base, backend, status: 'skipped', note: skip } }); return; }
    if (k > 0 && !want) {
      out.push({ row: { ...base, backend, status: 'error', note: `no reference: ${refError}` } });
      return;
    }
    try {
      const inst = c.setup(be);
      const t0 = performance.now();
      inst.run();
      const first = (performance.now() - t0) / 1e3;
      const got = inst.outputs();
      if (k === 0) {
        want = got;
        out.push({ row: { ...base, backend, status: 'ok', maxDiff: 0, first }, inst });
        return;
      }
      const r = compareOutputs(got, want!, c.atol, c.rtol);
      out.push({ row: { ...base, backend, status: r.ok ? 'ok' : 'NOT OK', maxDiff: r.maxDiff, first }, inst: r.ok ? inst : undefined });
    } catch (e) {
      if (k === 0) refError = String(e);
      out.push({
        row: isMissing(e)
          ? { ...base, backend, status: 'missing', note: 'kernel export not built yet' }
          : { ...base, backend, status: 'error', note: String(e).split('\n')[0] },
      });
    }
  });
  return out;
}
